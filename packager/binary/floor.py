"""The glibc floor: the oldest Linux system a file, or a whole bundle, can run on.

A Linux file runs on every system whose glibc is at least its floor (the highest
GLIBC_x.y among its needed symbol versions) and which provides the libraries it needs.
Only the libraries below may be taken from the system; everything else must ship inside
the file's own tree.

The allowlist follows auditwheel's manylinux policy (auditwheel 6.8, manylinux_2_17 and
later): the libraries of glibc itself, the GCC runtime, and zlib. It leaves out the
graphical libraries that policy also allows (libX11, libXext, libXrender, libICE, libSM,
libGL, glib/gobject/gthread) and libexpat, because a minimal system (a container, a
`debootstrap --variant=minbase` root) has none of them and a bundle promises to need
nothing but glibc.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

from packager.binary.model import BinaryFormat, BinaryReport, Finding, Severity
from packager.core.errors import UsageError

ALLOWED_LIBRARIES = frozenset(
    {
        # glibc
        "libc.so.6",
        "libm.so.6",
        "libmvec.so.1",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "libnsl.so.1",
        "libanl.so.1",
        # the GCC runtime
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "libatomic.so.1",
        # zlib (every Debian, Fedora and Alpine base system has it: their package tools use it)
        "libz.so.1",
    }
)
# glibc's dynamic loader, named as a DT_NEEDED by libc.so.6 and by files that use its
# private symbols: ld-linux-x86-64.so.2, ld-linux.so.2, ld64.so.2 and the like
_LOADER = re.compile(r"ld(?:-linux(?:-[a-z0-9_]+)*|64)?\.so\.[0-9]+")
_FLOOR_TEXT = re.compile(r"[0-9]+\.[0-9]+")


def version_key(version: str) -> tuple[int, ...]:
    """A glibc version ("2.17", "2.3.4") as a tuple that compares numerically."""
    return tuple(int(part) for part in version.split("."))


def parse_floor(text: str) -> str:
    """A --glibc value, checked: MAJOR.MINOR such as 2.17."""
    if not _FLOOR_TEXT.fullmatch(text):
        raise UsageError(
            f"--glibc {text!r} is not a glibc version",
            fix="give MAJOR.MINOR, e.g. --glibc 2.17 (manylinux2014) or --glibc 2.31 (Debian 11)",
        )
    return text


def highest(versions: Iterable[str | None]) -> str | None:
    """The highest of the versions given (None entries ignored); None when there are none."""
    present = [version for version in versions if version]
    return max(present, key=version_key, default=None)


def is_allowed(library: str) -> bool:
    """Whether a needed library may be taken from the target system."""
    return library in ALLOWED_LIBRARIES or _LOADER.fullmatch(library) is not None


def floor_findings(report: BinaryReport, floor: str, tree: str) -> Iterator[Finding]:
    """What keeps the ELF file of `report` from running on every glibc >= `floor`.

    `tree` is the file's own tree: a library resolved inside it ships with the file.
    """
    if report.format is not BinaryFormat.ELF:
        return
    if report.glibc_floor and version_key(report.glibc_floor) > version_key(floor):
        yield Finding(
            code="PKG111",
            severity=Severity.ERROR,
            path=report.path,
            message=f"needs symbol version GLIBC_{report.glibc_floor}, above the floor "
            f"{floor}: on an older system it fails with \"version 'GLIBC_"
            f"{report.glibc_floor}' not found\"",
            fix=f"build it against glibc {floor} (e.g. `cargo zigbuild --target "
            f"{report.arch}-unknown-linux-gnu.{floor}`, a Python runtime built for {floor}), "
            f"or raise the floor to {report.glibc_floor}",
        )
    libpython = report.libpython.name if report.libpython else None
    for library in report.needed:
        if is_allowed(library.name) or _ships_inside(library.resolved_path, tree):
            continue
        if library.resolved_path is None and library.name == libpython:
            continue  # PKG102 reports an unresolved libpython
        where = (
            f"resolves to {library.resolved_path}, outside its tree"
            if library.resolved_path
            else "does not resolve"
        )
        yield Finding(
            code="PKG112",
            severity=Severity.ERROR,
            path=report.path,
            message=f"needs {library.name}, which is not one of the system libraries every "
            f"Linux has (manylinux allowlist) and {where}: systems without it fail with "
            f"'{library.name}: cannot open shared object file'",
            fix=f"ship {library.name} inside the tree with a $ORIGIN rpath (`packager "
            "bundle` does for what it lays out, `auditwheel repair` for wheels), or leave "
            "out what needs it",
        )


def own_tree(path: str, roots: Iterable[str] = ()) -> str:
    """The tree `path` ships in: the first of `roots` holding it, else its parent's parent
    (a binary in PREFIX/bin ships with PREFIX/lib)."""
    absolute = os.path.abspath(path)
    for root in roots:
        if inside(absolute, os.path.abspath(root)):
            return os.path.abspath(root)
    return os.path.dirname(os.path.dirname(absolute))


def inside(path: str, tree: str) -> bool:
    """Whether `path` is `tree` or below it (never true of the whole file system)."""
    path = os.path.normpath(path)
    return tree != "/" and (path == tree or path.startswith(tree.rstrip("/") + "/"))


def _ships_inside(resolved: str | None, tree: str) -> bool:
    return resolved is not None and inside(os.path.realpath(resolved), os.path.realpath(tree))
