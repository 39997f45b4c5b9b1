"""An RPM package of a bundle, built with `rpmbuild` in a scratch `_topdir`.

It installs what the .deb installs (outputs/pkgroot.py): the tree under /opt/NAME, the
command /usr/bin/NAME, and a GUI app's menu entry and icon. rpm's own dependency scan is
off (`AutoReqProv: no`: it would list every versioned glibc symbol and the libraries the
bundle ships); `Requires` instead names the sonames of the system libraries the tree
still needs and glibc at its floor, as `libc.so.6(GLIBC_2.34)(64bit)` (what glibc's
package provides on every RPM distribution), plus /bin/sh for the launcher.

rpmbuild's post-processing (stripping, byte-compiling, debuginfo, build-id links) is off,
so the files are the bundle's own; with SOURCE_DATE_EPOCH the build time, file times and
build host are fixed. ~/rpmbuild and ~/.rpmmacros' `_topdir` are never used.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core import runner
from packager.core.errors import ToolError, UsageError
from packager.crate.appmeta import AppMetadata
from packager.outputs.deb import package_name
from packager.outputs.pkgroot import LICENCES, normalize_modes, stage_package_root
from packager.outputs.sysdeps import SystemNeeds, read_system_needs
from packager.targets.machines import machine

# The versions options.check_version accepts: [epoch:]upstream[-revision].
_DEBIAN_VERSION = re.compile(
    r"(?:(?P<epoch>[0-9]+):)?(?P<upstream>[0-9][A-Za-z0-9.+~]*)(?:-(?P<revision>[A-Za-z0-9.+~]+))?"
)
_RPMBUILD_FIX = "install rpmbuild (Debian: apt-get install rpm; Fedora: dnf install rpm-build)"
# Licence of a package whose metadata names none (SPDX's word for "not stated").
UNSTATED_LICENSE = "NOASSERTION"
# The payload compression every rpm since 4.6 (RHEL 6) reads.
_PAYLOAD = "w6.xzdio"


@dataclass(frozen=True)
class RpmVersion:
    """A package version as RPM splits it."""

    epoch: str | None
    version: str  # no '-': RPM separates version and release with it
    release: str


def rpm_version(version: str) -> RpmVersion:
    """Map a Debian-style version: `E:U-R` becomes Epoch E, Version U, Release R (1 when
    there is no revision). `~` sorts before a release in both systems."""
    found = _DEBIAN_VERSION.fullmatch(version)
    if found is None:
        raise UsageError(
            f"--version {version!r} cannot be an RPM version",
            fix="use digits, letters and . + ~, starting with a digit, and at most one '-' "
            "before a release number (e.g. 1.2.0 or 1.2.0-2)",
        )
    return RpmVersion(found["epoch"], found["upstream"], found["revision"] or "1")


def rpm_architecture(arch: str) -> str:
    """RPM's name for an ELF architecture."""
    found = machine(arch).rpm
    if found is None:
        raise UsageError(f"no RPM architecture is known for '{arch}'")
    return found


def package_file_name(package: str, version: str, arch: str) -> str:
    """NAME-VERSION-RELEASE.ARCH.rpm, as rpmbuild names it."""
    mapped = rpm_version(version)
    return f"{package}-{mapped.version}-{mapped.release}.{rpm_architecture(arch)}.rpm"


def rpm_requires(needs: SystemNeeds, arch: str) -> tuple[str, ...]:
    """The Requires of a package whose tree needs `needs`: /bin/sh, glibc at the floor,
    then each system library by soname."""
    mark = "(64bit)" if machine(arch).rpm_64bit else ""
    requires = ["/bin/sh"]
    if needs.glibc:
        requires.append(f"libc.so.6(GLIBC_{needs.glibc}){mark}")
    requires.extend(f"{soname}(){mark}" for soname, _path in needs.libraries)
    return tuple(requires)


def _spec_text(value: str) -> str:
    """A value as spec text: '%' would start a macro."""
    return value.replace("%", "%%")


def spec_text(
    meta: AppMetadata,
    *,
    package: str,
    requires: tuple[str, ...],
    files: tuple[str, ...],
    marked: PackageFiles | None = None,
) -> str:
    """The spec file: the header from `meta`, an %install that copies the staged root
    (named by $PACKAGER_RPM_ROOT) and the %files list: `files`, then `marked`'s
    directories (%dir) and licence files (%license: `rpm -qL` lists them, and an install
    with --nodocs keeps them)."""
    mapped = rpm_version(meta.version)
    header = [
        ("Name", package),
        ("Epoch", mapped.epoch),
        ("Version", mapped.version),
        ("Release", mapped.release),
        ("Summary", meta.summary),
        ("License", meta.license or UNSTATED_LICENSE),
        ("URL", meta.homepage),
        ("Vendor", meta.publisher),
        ("Packager", meta.authors[0] if meta.authors else None),
        ("AutoReqProv", "no"),
        *(("Requires", requirement) for requirement in requires),
    ]
    # rpm expands "%%" before it looks for section headers, so a description line
    # "%files" would start one even escaped: it gets a leading space instead.
    description = [
        " " + line if line.lstrip().startswith("%") else line
        for line in (meta.description.strip() or meta.summary).splitlines()
    ]
    lines = [f"{key}: {_spec_text(value)}" for key, value in header if value]
    lines += ["", "%description", *(_spec_text(line) for line in description)]
    lines += ["", "%install", 'cp -a -- "$PACKAGER_RPM_ROOT/." "$RPM_BUILD_ROOT/"']
    lines += ["", "%files", "%defattr(-,root,root,-)", *(f'"{path}"' for path in files)]
    if marked is not None:
        lines += [f'%dir "{path}"' for path in marked.directories]
        lines += [f'%license "{path}"' for path in marked.licences]
    return "".join(f"{line}\n" for line in lines)


def _defines(topdir: str) -> list[str]:
    values = {
        "_topdir": _spec_text(topdir),
        "_tmppath": _spec_text(os.path.join(topdir, "tmp")),
        "_buildhost": "packager",
        "_binary_payload": _PAYLOAD,
        "_build_id_links": "none",
        "debug_package": "%{nil}",
        "__os_install_post": "%{nil}",
        "__arch_install_post": "%{nil}",
        "use_source_date_epoch_as_buildtime": "1",
        "clamp_mtime_to_source_date_epoch": "1",
    }
    return [arg for key, value in values.items() for arg in ("--define", f"{key} {value}")]


@dataclass(frozen=True)
class PackageFiles:
    """Entries of %files with an attribute of their own."""

    directories: tuple[str, ...] = ()  # %dir: the directory itself, not its contents
    licences: tuple[str, ...] = ()  # %license


def _licence_marked(
    files: tuple[str, ...], root: str, name: str
) -> tuple[tuple[str, ...], PackageFiles]:
    """(files, marked) for %files: the /opt folder's licence folder marked %license, each
    of its other entries listed, the folder itself as %dir."""
    install_dir = f"/opt/{name}"
    if install_dir not in files or not os.path.isdir(os.path.join(root, "opt", name, LICENCES)):
        return files, PackageFiles()
    entries = sorted(os.listdir(os.path.join(root, "opt", name)))
    expanded = [f"{install_dir}/{entry}" for entry in entries if entry != LICENCES]
    listed = [path for path in files if path != install_dir]
    marked = PackageFiles((install_dir,), (f"{install_dir}/{LICENCES}",))
    return (*expanded, *listed), marked


def write_rpm(
    tree: str,
    name: str,
    launcher: str,
    *,
    meta: AppMetadata,
    arch: str,
    work_dir: str,
    out_path: str,
    environ: Mapping[str, str],
    mtime: int,
    echo: runner.Echo | None = None,
) -> tuple[str, ...]:
    """Build `out_path` from the bundle tree; notes on needs left out of Requires."""
    rpmbuild = runner.require("rpmbuild", environ, fix=_RPMBUILD_FIX)
    package = package_name(name)  # the .deb's: one name on every system
    rpm_arch = rpm_architecture(arch)
    root = os.path.join(work_dir, "root")
    files, marked = _licence_marked(
        stage_package_root(root, tree, name, launcher, meta), root, name
    )
    normalize_modes(root)
    needs = read_system_needs(os.path.join(root, "opt", name), environ=environ)
    requires = rpm_requires(needs, arch)
    topdir = os.path.join(work_dir, "topdir")
    for part in ("BUILD", "BUILDROOT", "RPMS", "SOURCES", "SPECS", "SRPMS", "tmp"):
        os.makedirs(os.path.join(topdir, part))
    spec = os.path.join(topdir, "SPECS", f"{package}.spec")
    with open(spec, "w", encoding="utf-8") as handle:
        handle.write(
            spec_text(meta, package=package, requires=requires, files=files, marked=marked)
        )
    build_environ = {**environ, "SOURCE_DATE_EPOCH": str(mtime), "PACKAGER_RPM_ROOT": root}
    runner.run(
        [rpmbuild, "-bb", "--quiet", "--nodeps", "--target", rpm_arch, *_defines(topdir), spec],
        environ=build_environ,
        echo=echo,
    )
    built = os.path.join(topdir, "RPMS", rpm_arch, package_file_name(package, meta.version, arch))
    if not os.path.isfile(built):
        raise ToolError(
            f"rpmbuild reported success but wrote no {os.path.basename(built)}",
            path=os.path.join(topdir, "RPMS"),
            fix="run again with --verbose to see rpmbuild's command",
        )
    shutil.move(built, out_path)
    return needs.notes
