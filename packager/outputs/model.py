"""Frozen values a bundle run produces: formats, sizes, outputs and the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from packager.binary.model import BinaryFormat, LinkMode


class BundleFormat(StrEnum):
    DIR = "dir"
    TAR_GZ = "tar.gz"
    TAR_ZST = "tar.zst"
    ZIP = "zip"
    INSTALLER = "installer"
    DEB = "deb"
    RPM = "rpm"
    MSI = "msi"
    SETUP = "setup"


ARCHIVE_FORMATS = (BundleFormat.TAR_GZ, BundleFormat.TAR_ZST, BundleFormat.ZIP)
# Formats that install the app, and so carry its metadata (name, version, publisher, icon).
PACKAGE_FORMATS = (
    BundleFormat.INSTALLER,
    BundleFormat.DEB,
    BundleFormat.RPM,
    BundleFormat.MSI,
    BundleFormat.SETUP,
)


@dataclass(frozen=True)
class SizeBreakdown:
    """Bytes of the unpacked tree, by part."""

    binary: int
    libpython: int
    stdlib: int
    site_packages: int
    app: int
    other: int  # launchers, the environment-restoring hook

    @property
    def total(self) -> int:
        """All parts together: the size of the unpacked tree."""
        return (
            self.binary + self.libpython + self.stdlib + self.site_packages + self.app + self.other
        )


@dataclass(frozen=True)
class BundleOutput:
    """One thing written to the output directory."""

    format: BundleFormat | None  # None for SHA256SUMS
    path: str
    size: int
    sha256: str | None  # None for a directory


@dataclass(frozen=True)
class BundleManifest:
    """What `bundle_binary` laid out and wrote."""

    name: str
    source_binary: str
    binary_format: BinaryFormat
    link_mode: LinkMode
    python_version: str  # of the interpreter whose stdlib was shipped, e.g. "3.11.2"
    interpreter: str  # that interpreter's path
    launcher: str  # the launcher's path relative to the tree's root
    binary: str  # the real binary's path relative to the tree's root
    rpath_patched: bool
    export_env: bool
    zip_stdlib: bool  # the pure-Python stdlib ships zipped (Windows: python3XY.zip, .pyc only)
    stripped: bool  # the binary, libpython and extension modules were stripped
    trimmed: tuple[str, ...]  # names of the trim rules applied (`--keep` names)
    kept: tuple[str, ...]
    requirements: tuple[str, ...]  # distributions installed into site-packages, "name==version"
    deb_depends: tuple[str, ...]  # empty unless a .deb was written
    sizes: SizeBreakdown
    outputs: tuple[BundleOutput, ...]
    notes: tuple[str, ...] = ()
    glibc_floor: str | None = None  # the oldest glibc every shipped ELF file runs on
    glibc_floor_file: str | None = None  # a file that sets it, relative to the tree's root
    vendored: tuple[str, ...] = ()  # system libraries shipped in lib/ (sonames)
    runtime: str | None = None  # the portable runtime the stdlib came from (its selector)
    licenses: str | None = None  # the licence index, relative to the tree; None: no licenses/
    unlicensed: tuple[str, ...] = ()  # shipped libraries without a licence text there
