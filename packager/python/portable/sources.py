"""Where a runtime's source tarballs come from, and how each is recognised and checked.

Three ways, one result (a `SourceSet`): --source names CPython's tarball or unpacked tree,
--deps-source a directory of the dependencies' tarballs, and without them Debian's source
packages are fetched into the cache (checked against the archive's signed indexes). Tk's
X11 headers and the XCB protocol descriptions are data, not code: they come as Debian's
architecture-independent binary packages (`x11proto-dev_2022.1-1_all.deb`). Debian's
`.orig` tarballs are the upstream releases, so the same file patterns recognise both
spellings (`openssl-3.0.20.tar.gz`, `openssl_3.0.20.orig.tar.gz`). Debian's own patches
are not applied: they adapt CPython to Debian's file layout, which a relocatable runtime
must not have.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core.errors import UsageError
from packager.core.fsutil import sha256_file
from packager.python.portable.spec import RuntimeSpec


@dataclass(frozen=True)
class Component:
    """One library the standard library needs, as its tarballs are named."""

    name: str  # the name packager reports ("openssl")
    file_prefixes: tuple[str, ...]  # upstream and Debian spellings of the tarball name
    debian_package: str  # the Debian source package that ships it (binary, for a .deb)
    licence: str
    deb: bool = False  # an architecture-independent binary package, not a tarball
    suite: str | None = None  # the Debian suite it is fetched from; None: the libraries'


# Build order: each one only needs those before it (libedit needs ncurses).
DEPENDENCIES: tuple[Component, ...] = (
    Component("zlib", ("zlib",), "zlib", "Zlib"),
    Component("bzip2", ("bzip2",), "bzip2", "bzip2-1.0.6"),
    Component("xz", ("xz", "xz-utils"), "xz-utils", "0BSD/public domain (liblzma)"),
    Component("libffi", ("libffi",), "libffi", "MIT"),
    Component("sqlite", ("sqlite-autoconf", "sqlite-src", "sqlite3"), "sqlite3", "public domain"),
    Component("libuuid", ("util-linux",), "util-linux", "BSD-3-Clause (libuuid)"),
    Component("ncurses", ("ncurses",), "ncurses", "MIT-X11"),
    # libedit rather than GNU readline: BSD-licensed, so the runtime carries no GPL code.
    Component("libedit", ("libedit",), "libedit", "BSD-3-Clause"),
    Component("openssl", ("openssl",), "openssl", "Apache-2.0"),
)

# tkinter's: Tcl and Tk over Xlib, static like the rest. Headers and the XCB protocol
# descriptions first (data), then libXau, libxcb and libX11; Tk draws text with Xft, so
# FreeType, fontconfig (over expat), libXrender and libXft too. libXau and libXrender are
# trixie's: bookworm's are the same libraries one release older.
GUI_DEPENDENCIES: tuple[Component, ...] = (
    Component("x11proto", ("x11proto-dev",), "x11proto-dev", "MIT", deb=True),
    Component("xtrans", ("xtrans-dev",), "xtrans-dev", "MIT", deb=True),
    Component("xcb-proto", ("xcb-proto",), "xcb-proto", "MIT", deb=True),
    Component("xcbgen", ("python3-xcbgen",), "python3-xcbgen", "MIT", deb=True),
    Component("libxau", ("libXau", "libxau"), "libxau", "MIT", suite="trixie"),
    Component("libxcb", ("libxcb",), "libxcb", "MIT"),
    Component("libx11", ("libX11", "libx11"), "libx11", "MIT"),
    Component("expat", ("expat",), "expat", "MIT"),
    Component("freetype", ("freetype",), "freetype", "FTL"),
    Component("fontconfig", ("fontconfig",), "fontconfig", "HPND-sell-variant"),
    Component("libxrender", ("libXrender", "libxrender"), "libxrender", "HPND", suite="trixie"),
    Component("libxft", ("libXft", "xft"), "xft", "HPND"),
    Component("tcl", ("tcl8.6", "tcl"), "tcl8.6", "TCL"),
    Component("tk", ("tk8.6", "tk"), "tk8.6", "TCL"),
)

# Everything a runtime is built from besides CPython, in build order.
ALL_DEPENDENCIES = DEPENDENCIES + GUI_DEPENDENCIES

# Debian suites whose CPython a runtime of that minor version is built from by default.
DEBIAN_SUITES: Mapping[int, str] = {11: "bookworm", 13: "trixie"}

# SHA-256 of CPython release tarballs, by file name: a --source tarball of a pinned
# release must match. Debian's .orig tarballs of CPython are the upstream release files
# (3.13.5's comes with the release manager's signature), so each is pinned by both names.
_PYTHON_3_11_2 = "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849"
_PYTHON_3_13_5 = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
PINNED_SHA256: Mapping[str, str] = {
    "Python-3.11.2.tgz": _PYTHON_3_11_2,
    "python3.11_3.11.2.orig.tar.gz": _PYTHON_3_11_2,
    "Python-3.13.5.tar.xz": _PYTHON_3_13_5,
    "python3.13_3.13.5.orig.tar.xz": _PYTHON_3_13_5,
}

_SUFFIX = r"(?:\.dfsg)?(?:\.orig)?\.(?:tgz|tar\.gz|tar\.xz|tar\.bz2)"
_PYTHON_TARBALL = re.compile(
    r"(?:Python-|python3\.\d+_)(?P<version>3\.\d+\.\d+)" + _SUFFIX, re.IGNORECASE
)


@dataclass(frozen=True)
class SourceArchive:
    """One source: a tarball (with its digest) or, for CPython only, an unpacked tree."""

    component: str
    version: str
    path: str
    sha256: str  # of the tarball; of the tree's file list and sizes for a directory

    @property
    def is_tree(self) -> bool:
        """Whether this is an unpacked source tree rather than a tarball."""
        return os.path.isdir(self.path)


@dataclass(frozen=True)
class SourceSet:
    """CPython and every dependency, ready to unpack."""

    python: SourceArchive
    dependencies: tuple[SourceArchive, ...]  # in ALL_DEPENDENCIES order


def _tarball_pattern(component: Component) -> re.Pattern[str]:
    prefixes = "|".join(re.escape(prefix) for prefix in component.file_prefixes)
    if component.deb:
        return re.compile(rf"(?:{prefixes})_(?P<version>\d[0-9A-Za-z.+~%-]*)_all\.deb")
    return re.compile(rf"(?:{prefixes})[-_](?P<version>\d[0-9A-Za-z.+~-]*?){_SUFFIX}")


def _expected_name(component: Component) -> str:
    if component.deb:
        return f"{component.file_prefixes[0]}_VERSION_all.deb"
    return f"{component.file_prefixes[0]}-VERSION.tar.*"


def _listing(directory: str) -> list[tuple[str, str]]:
    try:
        return [(directory, name) for name in sorted(os.listdir(directory))]
    except OSError as exc:
        raise UsageError(
            f"cannot read the dependency sources ({exc.strerror or exc})",
            path=directory,
            fix="give --deps-source a directory holding the dependencies' tarballs",
        ) from exc


def find_dependencies(*directories: str) -> tuple[SourceArchive, ...]:
    """Every dependency's tarball (or package) in `directories`, or UsageError naming
    what is missing."""
    entries = [entry for directory in directories for entry in _listing(directory)]
    found: list[SourceArchive] = []
    missing: list[str] = []
    for component in ALL_DEPENDENCIES:
        pattern = _tarball_pattern(component)
        matches = [(where, m) for where, name in entries if (m := pattern.fullmatch(name))]
        if not matches:
            missing.append(f"{component.name} ({_expected_name(component)})")
            continue
        where, match = matches[-1]  # the highest version when sorted names differ by it
        path = os.path.join(where, match.string)
        found.append(SourceArchive(component.name, match["version"], path, sha256_file(path)))
    if missing:
        raise UsageError(
            "no tarball for " + ", ".join(missing),
            path=directories[0],
            fix="put the missing tarballs there, or leave out --deps-source to fetch "
            "Debian's source packages",
        )
    return tuple(found)


def python_source(path: str, spec: RuntimeSpec) -> SourceArchive:
    """CPython's tarball or unpacked tree at `path`, checked against the request and pins."""
    if os.path.isdir(path):
        version = _tree_version(path)
        archive = SourceArchive("python", version, os.path.abspath(path), _tree_digest(path))
    else:
        match = _PYTHON_TARBALL.fullmatch(os.path.basename(path))
        if match is None or not os.path.isfile(path):
            raise UsageError(
                "not a CPython release tarball or source tree",
                path=path,
                fix="give --source Python-3.X.Y.tgz (or .tar.xz), or an unpacked source tree",
            )
        digest = sha256_file(path)
        pinned = PINNED_SHA256.get(os.path.basename(path))
        if pinned is not None and pinned != digest:
            raise UsageError(
                f"SHA-256 {digest} differs from the pinned {pinned}",
                path=path,
                fix="download the release again from a trusted mirror",
            )
        archive = SourceArchive("python", match["version"], os.path.abspath(path), digest)
    if not spec.accepts(archive.version):
        raise UsageError(
            f"the source is CPython {archive.version}, not {_wanted(spec)}",
            path=path,
            fix="give --python the version of the source, or the source of that version",
        )
    return archive


def python_in(directory: str, spec: RuntimeSpec) -> SourceArchive | None:
    """The CPython tarball among Debian's downloads in `directory`, if there is one."""
    for name in sorted(os.listdir(directory)):
        match = _PYTHON_TARBALL.fullmatch(name)
        if match is not None and match["version"].startswith(f"3.{spec.minor}."):
            return python_source(os.path.join(directory, name), spec)
    return None


def _wanted(spec: RuntimeSpec) -> str:
    return spec.short_version + (f".{spec.micro}" if spec.micro is not None else ".x")


_PATCHLEVEL = re.compile(r'#define\s+PY_VERSION\s+"(3\.\d+\.\d+)')


def _tree_version(path: str) -> str:
    header = os.path.join(path, "Include", "patchlevel.h")
    try:
        with open(header, encoding="utf-8") as stream:
            match = _PATCHLEVEL.search(stream.read())
    except OSError as exc:
        raise UsageError(
            "not a CPython source tree (no Include/patchlevel.h)",
            path=path,
            fix="give --source the top directory of an unpacked CPython release",
        ) from exc
    if match is None:
        raise UsageError("Include/patchlevel.h names no version", path=header)
    return match.group(1)


def _tree_digest(path: str) -> str:
    """A digest of a tree's relative paths, sizes and modification times (not contents)."""
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(path):
        subdirs.sort()
        for name in sorted(files):
            full = os.path.join(directory, name)
            info = os.lstat(full)
            relative = os.path.relpath(full, path)
            digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()
