"""Extract tar and zip archives that may be hostile, the same way on every Python 3.11+.

tarfile's `filter="data"` exists only from 3.11.4 (Debian 12 ships 3.11.2) and its link
checks have needed security fixes since, so members are written here instead, under the
same rules on every version:

- a member name is relative and has no `..` component; a member appears once;
- nothing is written through a symlink or into a file: every parent is a real directory;
- symlinks are relative and, followed the way the kernel follows them (chains included),
  stay inside the destination; a hard link points at a regular file extracted before it;
- device files and FIFOs are refused;
- modes lose setuid/setgid/sticky and group/other write bits; the owner can read and
  write every file; owners are never set;
- the archive is a regular file (a FIFO would block the read), and its members unpack to
  at most `unpacked_limit(size)` bytes: a bomb stops there instead of filling the disk.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
import zlib
from typing import IO

from packager.core.errors import UnreadableInputError

_FIX = "extract only archives written by `packager bundle`, or rebuild this one"
# Symlinks followed while resolving one path before it counts as a loop (Linux: 40).
_MAX_LINK_HOPS = 40
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Unpacked bytes allowed: this many times the archive, and never less than the floor.
_MAX_RATIO = 100
_MIN_LIMIT = 512 << 20
_CHUNK = 1 << 20


TOO_BIG = "its members unpack to far more than the archive holds"


def refusal(archive: str, reason: str) -> UnreadableInputError:
    """The error that refuses to extract `archive`, for `reason` (TOO_BIG, say)."""
    return UnreadableInputError(f"refusing to extract: {reason}", path=archive, fix=_FIX)


def unpacked_limit(archive_size: int) -> int:
    """How many bytes an archive of `archive_size` bytes may unpack to."""
    return max(_MIN_LIMIT, _MAX_RATIO * archive_size)


class _Refused(Exception):
    """A member breaks a rule; turned into UnreadableInputError naming the archive."""


def extract_tar(archive: str, destination: str, *, limit: int | None = None) -> None:
    """Extract the tar file `archive` (any compression tarfile reads) into `destination`.

    `destination` is an existing, empty directory the caller removes if this raises;
    `limit` replaces the unpacked limit the archive's size gives.
    """
    try:
        limit = _limit_of(archive, limit)
        with tarfile.open(archive) as tar:
            tree = _Tree(destination, limit)
            for member in tar:
                _add_tar_member(tree, tar, member)
            tree.check_links()
    except _Refused as exc:
        raise refusal(archive, str(exc)) from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:  # EOFError: cut-off gzip
        raise UnreadableInputError(f"cannot extract: {exc}", path=archive) from exc


def extract_zip(archive: str, destination: str, *, limit: int | None = None) -> None:
    """Extract the zip file `archive` into `destination` (symlink members are refused).

    `destination` is an existing, empty directory the caller removes if this raises;
    `limit` replaces the unpacked limit the archive's size gives.
    """
    try:
        limit = _limit_of(archive, limit)
        with zipfile.ZipFile(archive) as handle:
            tree = _Tree(destination, limit)
            for info in handle.infolist():
                _add_zip_member(tree, handle, info)
    except _Refused as exc:
        raise refusal(archive, str(exc)) from None
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise UnreadableInputError(f"cannot extract: {exc}", path=archive) from exc


def _limit_of(archive: str, given: int | None) -> int:
    """The archive's unpacked limit; refuses what is not a regular file before it is read."""
    info = os.stat(archive)
    if not stat.S_ISREG(info.st_mode):
        raise _Refused("it is not a regular file")
    return unpacked_limit(info.st_size) if given is None else given


def _add_tar_member(tree: _Tree, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    parts = _member_parts(member.name)
    if not parts:
        if member.isdir():
            return  # "./": the destination itself
        raise _Refused(f"member {member.name!r} has no name")
    if member.isdir():
        tree.directory(parts)
    elif member.isreg():
        source = tar.extractfile(member)
        if source is None:
            raise _Refused(f"member {member.name!r} has no data")
        with source:
            tree.file(parts, source, _file_mode(member.mode), member.mtime)
    elif member.issym():
        tree.symlink(parts, member.linkname)
    elif member.islnk():
        tree.hardlink(parts, member.linkname)
    else:
        raise _Refused(f"member {member.name!r} is a device file or FIFO")


def _add_zip_member(tree: _Tree, handle: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    parts = _member_parts(info.filename)
    if not parts:
        raise _Refused(f"member {info.filename!r} has no name")
    unix_mode = info.external_attr >> 16
    kind = stat.S_IFMT(unix_mode)
    if info.is_dir():
        tree.directory(parts)
    elif kind and kind != stat.S_IFREG:
        what = "a symlink" if stat.S_ISLNK(unix_mode) else "not a regular file"
        raise _Refused(f"member {info.filename!r} is {what}")
    else:
        # A zip written on Windows carries no Unix mode: an ordinary file.
        mode = _file_mode(unix_mode & 0o7777 or 0o644)
        with handle.open(info) as source:
            tree.file(parts, source, mode, None)


def _member_parts(name: str) -> tuple[str, ...]:
    """The components of a member name, without `.` and empty ones; refuses unsafe names."""
    if "\0" in name:
        raise _Refused(f"member name {name!r} holds a NUL byte")
    if name.startswith("/"):
        raise _Refused(f"member {name!r} has an absolute name")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise _Refused(f"member {name!r} has a '..' component")
    return parts


def _file_mode(mode: int) -> int:
    """A regular file's mode as tarfile's "data" filter sets it.

    No setuid/setgid/sticky or group/other write; executable only if the owner may
    execute; always readable and writable by the owner.
    """
    mode &= 0o755
    if not mode & 0o100:
        mode &= ~0o111
    return mode | 0o600


class _Tree:
    """The destination directory and what has been written into it so far."""

    def __init__(self, root: str, limit: int) -> None:
        self.root = root
        self.left = limit  # bytes the members may still unpack to
        self.directories: set[tuple[str, ...]] = {()}
        self.files: set[tuple[str, ...]] = set()
        self.links: list[tuple[str, ...]] = []

    def directory(self, parts: tuple[str, ...]) -> None:
        """Create the directory `parts` (repeating a directory is allowed)."""
        self.parent(parts)
        if parts in self.directories:
            return
        os.mkdir(self._new(parts), 0o755)
        self.directories.add(parts)

    def file(
        self, parts: tuple[str, ...], source: IO[bytes], mode: int, mtime: float | None
    ) -> None:
        """Write a new regular file `parts` with `source`'s bytes."""
        self.parent(parts)
        # O_EXCL | O_NOFOLLOW: never open something already there, and never a symlink.
        descriptor = os.open(self._new(parts), _CREATE, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            while chunk := source.read(min(_CHUNK, self.left + 1)):
                self.left -= len(chunk)
                if self.left < 0:
                    raise _Refused(TOO_BIG)
                handle.write(chunk)
            handle.flush()  # before utime: a later write would set the mtime again
            os.fchmod(descriptor, mode)
            if mtime is not None:
                os.utime(descriptor, (mtime, mtime))
        self.files.add(parts)

    def symlink(self, parts: tuple[str, ...], target: str) -> None:
        """Create a symlink `parts` to the relative `target`; it must stay inside the tree."""
        name = "/".join(parts)
        if not target or "\0" in target:
            raise _Refused(f"symlink {name!r} has an empty or invalid target")
        if target.startswith("/"):
            raise _Refused(f"symlink {name!r} points to the absolute path {target!r}")
        # A first, lexical check; check_links follows the finished tree.
        resolved = list(parts[:-1])
        for part in target.split("/"):
            if part == "..":
                if not resolved:
                    raise _Refused(f"symlink {name!r} points outside the archive: {target!r}")
                resolved.pop()
            elif part not in ("", "."):
                resolved.append(part)
        self.parent(parts)
        os.symlink(target, self._new(parts))
        self.links.append(parts)

    def hardlink(self, parts: tuple[str, ...], target: str) -> None:
        """Create a hard link `parts` to the regular file `target` extracted before it."""
        target_parts = _member_parts(target)
        if target_parts not in self.files:
            name = "/".join(parts)
            raise _Refused(f"hard link {name!r} points to {target!r}, not a file extracted before")
        self.parent(parts)
        os.link(self._path(target_parts), self._new(parts), follow_symlinks=False)
        self.files.add(parts)

    def parent(self, parts: tuple[str, ...]) -> None:
        """Make every parent of `parts` a real directory; refuse a symlink or file there."""
        for depth in range(1, len(parts)):
            prefix = parts[:depth]
            if prefix in self.directories:
                continue
            path = self._path(prefix)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                os.mkdir(path, 0o755)
            else:
                if not stat.S_ISDIR(info.st_mode):
                    name = "/".join(parts)
                    raise _Refused(f"member {name!r} would be written through a link or file")
            self.directories.add(prefix)

    def check_links(self) -> None:
        """Follow every symlink as the kernel would; refuse one that leaves the tree or loops."""
        for parts in self.links:
            self._resolve(parts)

    def _resolve(self, parts: tuple[str, ...]) -> None:
        name = "/".join(parts)
        resolved: list[str] = []
        pending = list(parts)
        hops = 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    raise _Refused(f"symlink {name!r} leads outside the archive")
                resolved.pop()
                continue
            resolved.append(part)
            try:
                info = os.lstat(self._path(tuple(resolved)))
            except (FileNotFoundError, NotADirectoryError):
                continue  # dangling from here on: the rest is resolved by name alone
            if stat.S_ISLNK(info.st_mode):
                hops += 1
                if hops > _MAX_LINK_HOPS:
                    raise _Refused(f"symlink {name!r} is part of a loop")
                link = os.readlink(self._path(tuple(resolved)))
                if link.startswith("/"):
                    raise _Refused(f"symlink {name!r} leads to an absolute path")
                resolved.pop()
                pending[:0] = link.split("/")

    def _new(self, parts: tuple[str, ...]) -> str:
        path = self._path(parts)
        if os.path.lexists(path):
            raise _Refused(f"member {'/'.join(parts)!r} appears twice")
        return path

    def _path(self, parts: tuple[str, ...]) -> str:
        return os.path.join(self.root, *parts)
