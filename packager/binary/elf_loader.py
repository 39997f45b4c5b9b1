"""Where glibc's ld.so would find each DT_NEEDED of an ELF file, worked out without running it.

Search order (ld.so(8)): DT_RPATH (only when there is no DT_RUNPATH), LD_LIBRARY_PATH,
DT_RUNPATH, the directories of /etc/ld.so.conf (what /etc/ld.so.cache is built from),
then the loader's built-in directories. Candidates of another ELF class or machine are
skipped, as ld.so skips them. The glibc-hwcaps/ and legacy tls/ and platform
subdirectories ld.so also probes are not searched: libraries there are rare.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import stat
from typing import TYPE_CHECKING

from packager.binary.model import NeededLibrary, ParsedBinary
from packager.targets.machines import machine

if TYPE_CHECKING:  # packager.binary imports this module lazily; no runtime cycle
    from packager.binary import ResolveContext

_Identity = tuple[int, int, int]  # EI_CLASS, EI_DATA, e_machine
_NOT_ELF: _Identity = (0, 0, 0)

_DST = re.compile(r"\$(?:(ORIGIN|LIB|PLATFORM)\b|\{(ORIGIN|LIB|PLATFORM)\})")
_CONF_INCLUDE_DEPTH = 16  # include loops in ld.so.conf are cut here (ldconfig has no guard)


def resolve(parsed: ParsedBinary, path: str, context: ResolveContext) -> tuple[NeededLibrary, ...]:
    """Where each DT_NEEDED of `parsed` (read from `path`) resolves on this host, or None."""
    identity = _identity(path)
    directories = search_directories(parsed, path, context)
    resolved: list[NeededLibrary] = []
    for name in parsed.needed:
        if "/" in name:
            # ld.so opens such a name as it stands (relative to its cwd), with no search.
            candidates = [_under_root(context.root, name) if name.startswith("/") else name]
        else:
            candidates = [os.path.join(directory, name) for directory in directories]
        resolved.append(NeededLibrary(name, _first_loadable(candidates, identity)))
    return tuple(resolved)


def _first_loadable(candidates: list[str], identity: _Identity | None) -> str | None:
    """The candidate ld.so would load, following its open_verify rules.

    A file of another ELF class or machine is skipped and the search goes on; a file that
    is not ELF at all, or has the other byte order, stops ld.so with an error.
    """
    for candidate in candidates:
        found = _identity(candidate)
        if found is None:
            continue
        if found == _NOT_ELF or (identity is not None and found[1] != identity[1]):
            return None
        if identity is None or found == identity:
            return _tidy(candidate)
    return None


def _tidy(found: str) -> str:
    """`found` without "." and ".." steps ($ORIGIN/../lib), unless a symlink makes them matter."""
    tidy = os.path.normpath(found)
    try:
        return tidy if tidy == found or os.path.samefile(tidy, found) else found
    except OSError:
        return found


def search_directories(parsed: ParsedBinary, path: str, context: ResolveContext) -> list[str]:
    """The directories ld.so would try, in order, for the libraries `parsed` needs.

    An empty entry (rpath or LD_LIBRARY_PATH) means the current directory to ld.so and is
    kept as "."; entries with a variable that cannot be expanded are dropped, as ld.so does.
    """
    identity = _identity(path)
    layout = _Layout.of(parsed.arch, identity is not None and identity[0] == 2, context.root)
    origin = os.path.dirname(os.path.realpath(path))

    def expanded(entries: list[str] | tuple[str, ...]) -> list[str]:
        paths = (_expand(entry, origin, layout, context.root) for entry in entries)
        return [directory for directory in paths if directory is not None]

    directories = [] if parsed.runpath else expanded(parsed.rpaths)
    library_path = context.environ.get("LD_LIBRARY_PATH")
    # Set but empty is ignored, unlike an empty entry; a set-user/group-ID program runs in
    # secure-execution mode, where ld.so ignores LD_LIBRARY_PATH altogether.
    if library_path and not _is_set_id(path):
        directories += expanded(re.split("[:;]", library_path))
    if parsed.runpath:
        directories += expanded(parsed.rpaths)
    directories += [_under_root(context.root, d) for d in ld_so_conf_directories(context.root)]
    directories += [_under_root(context.root, d) for d in layout.system_directories]
    return list(dict.fromkeys(directories))


class _Layout:
    """How the host's glibc was configured: the $LIB value and the built-in directories."""

    def __init__(self, lib: str, system_directories: tuple[str, ...], platform: str | None):
        self.lib, self.system_directories = lib, system_directories
        self.platform: str | None = platform

    @classmethod
    def of(cls, arch: str, is64: bool, root: str) -> _Layout:
        """Debian puts libraries in /lib/<triplet> and builds ld.so to search there first;
        Fedora, SUSE and Arch use /lib64 on 64-bit systems; 32-bit systems plain /lib."""
        known = machine(arch)
        platform, triplet = known.platform, known.multiarch
        if triplet and os.path.isdir(_under_root(root, f"/usr/lib/{triplet}")):
            system = (f"/lib/{triplet}", f"/usr/lib/{triplet}", "/lib", "/usr/lib")
            return cls(f"lib/{triplet}", system, platform)
        if is64:
            return cls("lib64", ("/lib64", "/usr/lib64"), platform)
        return cls("lib", ("/lib", "/usr/lib"), platform)


def _expand(entry: str, origin: str, layout: _Layout, root: str) -> str | None:
    """One rpath / LD_LIBRARY_PATH entry as a host directory, or None if ld.so drops it."""
    if entry == "":
        return "."
    values = {"ORIGIN": origin, "LIB": layout.lib, "PLATFORM": layout.platform}
    if any(values[a or b] is None for a, b in _DST.findall(entry)):
        return None
    directory = _DST.sub(lambda match: values[match.group(1) or match.group(2)] or "", entry)
    # $ORIGIN already names a host directory; any other absolute path is the target's.
    if directory.startswith("/") and not re.match(r"\$\{?ORIGIN", entry):
        return _under_root(root, directory)
    return directory


@functools.lru_cache(maxsize=16)
def ld_so_conf_directories(root: str) -> tuple[str, ...]:
    """Directories listed by /etc/ld.so.conf under `root`, following `include` globs."""
    directories: list[str] = []
    _read_conf(root, _under_root(root, "/etc/ld.so.conf"), directories, depth=0)
    return tuple(dict.fromkeys(directories))


def _read_conf(root: str, conf_file: str, directories: list[str], depth: int) -> None:
    if depth > _CONF_INCLUDE_DEPTH:
        return
    try:
        with open(conf_file, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return  # ldconfig also goes on without an unreadable file
    for raw_line in lines:
        line = raw_line.split("#", 1)[0].strip()
        words = line.split()
        if len(words) > 1 and words[0] == "include":
            for pattern in words[1:]:
                for included in _include_matches(root, conf_file, pattern):
                    _read_conf(root, included, directories, depth + 1)
        elif line.startswith("/"):
            # An old "dir=libc6" type suffix is not part of the directory.
            directories.append(line.split("=", 1)[0].rstrip().rstrip("/") or "/")


def _include_matches(root: str, conf_file: str, pattern: str) -> list[str]:
    """Files an include pattern names: absolute under root, relative to the including file."""
    if pattern.startswith("/"):
        pattern = _under_root(root, pattern)
    else:
        pattern = os.path.join(os.path.dirname(conf_file), pattern)
    return sorted(glob.glob(pattern))


def _under_root(root: str, path: str) -> str:
    """A target-absolute path seen from the host, inside `root`."""
    if root in ("", "/"):
        return path
    return os.path.join(root, path.lstrip("/"))


def _is_set_id(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & (stat.S_ISUID | stat.S_ISGID))
    except OSError:
        return False


def _identity(path: str) -> _Identity | None:
    """(class, byte order, machine) of a file; _NOT_ELF if it is not ELF; None if unopenable."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return _NOT_ELF
    return head[4], head[5], int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
