"""A Debian package of a bundle: the tree under /opt/NAME, the command in /usr/bin.

`Depends` lists the packages owning the system libraries the bundle's ELF files still
need (found with `dpkg -S` on where each library resolves), with libc6 at the highest
glibc version any of them requires.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence

from packager import runner
from packager.errors import UsageError
from packager.inspect import inspect_paths
from packager.model import BinaryFormat, BinaryReport

_DEB_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "i386": "i386",
    "arm": "armhf",
    "ppc64le": "ppc64el",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_DPKG_FIX = "install dpkg-dev and fakeroot (Debian: apt-get install dpkg-dev fakeroot)"


def package_name(name: str) -> str:
    """The Debian package name for bundle `name` (lower case, '_' as '-')."""
    candidate = name.lower().replace("_", "-")
    if not _PACKAGE_NAME.fullmatch(candidate):
        raise UsageError(
            f"'{name}' cannot be a Debian package name",
            fix="rename the binary to letters, digits, '.', '+' and '-' (two or more)",
        )
    return candidate


def deb_architecture(arch: str) -> str:
    """Debian's name for an ELF architecture."""
    found = _DEB_ARCH.get(arch)
    if found is None:
        raise UsageError(f"no Debian architecture is known for '{arch}'")
    return found


def parse_dpkg_search(output: str) -> dict[str, str]:
    """{path: package} from `dpkg -S` output ("libc6:amd64: /lib/…/libc.so.6")."""
    owners: dict[str, str] = {}
    for line in output.splitlines():
        packages, separator, path = line.partition(": ")
        if not separator or not path.startswith("/") or packages.startswith("diversion"):
            continue
        first = packages.split(",")[0].strip()
        owners[path.strip()] = first.split(":")[0]
    return owners


def _path_variants(path: str) -> list[str]:
    # Merged /usr: a package may own /lib/x/libc.so.6 while the loader reports /usr/lib/x/…
    variants = [path, os.path.realpath(path)]
    for candidate in list(variants):
        if candidate.startswith("/usr/"):
            variants.append(candidate[len("/usr") :])
        else:
            variants.append("/usr" + candidate)
    return list(dict.fromkeys(variants))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def compute_depends(
    reports: Sequence[BinaryReport], tree: str, *, environ: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Depends entries, notes) for the ELF files of the tree at `tree`."""
    root = os.path.realpath(tree)
    system_paths: set[str] = set()
    notes: list[str] = []
    glibc: str | None = None
    for report in reports:
        if report.format is not BinaryFormat.ELF:
            continue
        if report.glibc_floor and (
            glibc is None or _version_key(report.glibc_floor) > _version_key(glibc)
        ):
            glibc = report.glibc_floor
        for library in report.needed:
            if library.resolved_path is None:
                notes.append(
                    f"{os.path.relpath(report.path, root)} needs {library.name}, "
                    "which resolves nowhere on this host: not in Depends"
                )
                continue
            if os.path.realpath(library.resolved_path).startswith(root + os.sep):
                continue
            system_paths.add(library.resolved_path)
    dpkg = runner.require("dpkg", environ, fix=_DPKG_FIX)
    queries = sorted({variant for path in system_paths for variant in _path_variants(path)})
    owners = parse_dpkg_search(
        runner.run([dpkg, "-S", *queries], environ=environ, check=False).stdout if queries else ""
    )
    packages: set[str] = set()
    for path in sorted(system_paths):
        owner = next((owners[v] for v in _path_variants(path) if v in owners), None)
        if owner is None:
            notes.append(f"{path} belongs to no Debian package: not in Depends")
        else:
            packages.add(owner)
    depends = [
        f"libc6 (>= {glibc})" if package == "libc6" and glibc else package
        for package in sorted(packages)
    ]
    return tuple(depends), tuple(notes)


def control_text(fields: Iterable[tuple[str, str]]) -> str:
    """A DEBIAN/control file from (field, value) pairs; empty values are left out."""
    return "".join(f"{field}: {value}\n" for field, value in fields if value)


def write_deb(
    tree: str,
    name: str,
    launcher: str,
    *,
    version: str,
    arch: str,
    python_version: str,
    work_dir: str,
    out_path: str,
    environ: Mapping[str, str],
    mtime: int,
    echo: runner.Echo | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Build `out_path` from the bundle tree; (Depends entries, notes)."""
    dpkg_deb = runner.require("dpkg-deb", environ, fix=_DPKG_FIX)
    package = package_name(name)
    root = os.path.join(work_dir, "deb-root")
    install_dir = os.path.join(root, "opt", name)
    shutil.copytree(tree, install_dir, symlinks=True)
    os.makedirs(os.path.join(root, "usr", "bin"))
    os.symlink(f"/opt/{name}/{launcher}", os.path.join(root, "usr", "bin", name))
    reports = inspect_paths([install_dir], environ=environ).binaries
    depends, notes = compute_depends(reports, install_dir, environ=environ)
    installed_kib = (
        sum(
            os.path.getsize(os.path.join(d, f))
            for d, _, files in os.walk(install_dir)
            for f in files
        )
        // 1024
        + 1
    )
    control_dir = os.path.join(root, "DEBIAN")
    os.makedirs(control_dir)
    with open(os.path.join(control_dir, "control"), "w", encoding="utf-8") as handle:
        handle.write(
            control_text(
                [
                    ("Package", package),
                    ("Version", version),
                    ("Architecture", deb_architecture(arch)),
                    ("Maintainer", f"{name} maintainers <root@localhost>"),
                    ("Installed-Size", str(installed_kib)),
                    ("Depends", ", ".join(depends)),
                    ("Section", "misc"),
                    ("Priority", "optional"),
                    ("Description", f"{name}, with its own Python {python_version} runtime"),
                ]
            )
        )
    for directory, _subdirs, files in os.walk(root):
        os.chmod(directory, 0o755)
        for file_name in files:
            path = os.path.join(directory, file_name)
            if not os.path.islink(path):
                executable = os.stat(path).st_mode & 0o111
                os.chmod(path, 0o755 if executable else 0o644)
    build_environ = {**environ, "SOURCE_DATE_EPOCH": str(mtime)}
    runner.run(
        [dpkg_deb, "--root-owner-group", "-Zxz", "--build", root, out_path],
        environ=build_environ,
        echo=echo,
    )
    return depends, notes
