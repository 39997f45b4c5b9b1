"""The layouts a bundle can take, one module each, chosen by the program's target.

A layout says which outputs it can be written as and which options it honours; the
pipeline refuses any other option a user gives instead of ignoring it. A tree layout
(`elf`, `pe`) lays the program and its runtime out in the staging directory and leaves
the writing of archives and installers to the outputs stage; `onefile` writes one file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from packager.binary.model import BinaryReport
from packager.bundle.options import METADATA_OPTIONS, BundleRequest
from packager.core.atomic import Staging
from packager.core.context import Context
from packager.crate.appmeta import AppMetadata
from packager.outputs import StagedTree
from packager.outputs.model import ARCHIVE_FORMATS, BundleFormat, BundleManifest
from packager.targets import LayoutKind

# Options every layout honours: where the outputs go and what is done with them.
_COMMON = frozenset({"--format"})


@dataclass(frozen=True)
class TreeJob:
    """One tree to lay out: the program, what inspect read from it, and the request."""

    request: BundleRequest
    name: str
    binary: str
    report: BinaryReport
    interpreter: str | None  # the interpreter a build just used, if the binary was built
    staging: Staging
    meta: AppMetadata  # what installers say about the app
    package_dir: str | None = None  # the crate's package folder; None for a built binary


@dataclass(frozen=True)
class LaidOut:
    """A staged tree and the manifest of it, before any output is written."""

    tree: StagedTree
    manifest: BundleManifest  # outputs and deb_depends are filled in by the outputs stage


LayOut = Callable[[TreeJob, Context], LaidOut]


@dataclass(frozen=True)
class Layout:
    """One way to lay a program out, and what it accepts."""

    key: str
    title: str  # how messages name what is bundled, e.g. "a Windows (PE) program"
    formats: tuple[BundleFormat, ...]  # the outputs it can be written as
    options: frozenset[str]  # the options it honours, by their command-line names
    module: str | None  # the module with `lay_out`, for a tree layout; imported on use

    def lay_out(self, job: TreeJob, ctx: Context) -> LaidOut:
        """Lay `job` out with this tree layout's module."""
        assert self.module is not None, f"{self.key} is not a tree layout"
        function = importlib.import_module(self.module).lay_out
        return cast(LayOut, function)(job, ctx)


# Windows installers take a Windows program.
_WINDOWS_FORMATS = (BundleFormat.MSI, BundleFormat.SETUP)
ELF = Layout(
    "elf",
    "a Linux (ELF) program",
    tuple(fmt for fmt in BundleFormat if fmt not in _WINDOWS_FORMATS),
    _COMMON
    | {
        "--mode",
        "--python",
        "--package",
        "--bin",
        "--keep",
        "--app-dir",
        "--requirements",
        "--stdlib-sources",
        "--no-strip",
        "--no-strip-file",
        "--strict-licenses",
        "--only-needed",
        "--script",
        "--include",
        "--export-env",
        "--workdir",
        "--glibc",
        "--verify-on",
        "--target",
        "--python-home",
        *METADATA_OPTIONS,
    },
    "packager.bundle.layouts.elf",
)
PE = Layout(
    "pe",
    "a Windows (PE) program",
    (BundleFormat.DIR, *ARCHIVE_FORMATS, *_WINDOWS_FORMATS),
    _COMMON
    | {
        "--python",
        "--python-home",
        "--package",
        "--bin",
        "--app-dir",
        "--strict-licenses",
        "--export-env",
        "--target",
        "--sign-pfx",
        "--sign-pkcs11-key",
        *METADATA_OPTIONS,
    },
    "packager.bundle.layouts.pe",
)
# The tree layout of each target's LayoutKind.
TREE_LAYOUTS = {LayoutKind.ELF: ELF, LayoutKind.PE: PE}
ONEFILE = Layout(
    "onefile",
    "--onefile",
    (),
    frozenset(
        {
            "--python",
            "--package",
            "--bin",
            "--keep",
            "--app-dir",
            "--requirements",
            "--no-strip",
            "--strict-licenses",
            "--only-needed",
            "--script",
            "--include",
            "--site",
            "--no-compress",
            "--no-library-cache",
            "--glibc",
            "--verify-on",
            "--target",
            "--python-home",
        }
    ),
    None,  # the pipeline hands it to packager.bundle.onefile.builder
)
