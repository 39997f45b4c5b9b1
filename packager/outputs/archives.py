"""Reproducible tar.gz, tar.zst and zip archives of a tree (SHA256SUMS: outputs/sums.py).

Same inputs, same bytes: entries sorted by name, owner 0:0 with empty names, one mtime
(SOURCE_DATE_EPOCH from the given environment, else a constant), permissions 0755/0644,
a gzip header without a file name or time, and zstd run with fixed parameters.
"""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from packager.core.errors import UsageError

# 1980-01-01T00:00:00Z: the earliest time a zip entry can hold.
DEFAULT_MTIME = 315532800
# Member names are UTF-8 whatever the locale, so the archive does not depend on it.
_TAR_ENCODING = "utf-8"


@dataclass(frozen=True)
class Entry:
    """One archive member: `name` is a POSIX path such as "hello/bin/hello"."""

    name: str
    source: str | None  # the file to read; None for a directory or a symlink
    mode: int  # permission bits only
    link_target: str | None = None

    @property
    def is_dir(self) -> bool:
        """Whether this entry is a directory."""
        return self.source is None and self.link_target is None


def source_mtime(environ: Mapping[str, str]) -> int:
    """SOURCE_DATE_EPOCH when set (the reproducible-builds convention), else a constant."""
    value = environ.get("SOURCE_DATE_EPOCH")
    if value is None or value == "":
        return DEFAULT_MTIME
    try:
        mtime = int(value)
    except ValueError:
        raise UsageError(
            f"SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds",
            fix="set it to a Unix time such as $(git log -1 --format=%ct), or unset it",
        ) from None
    if mtime < 0:
        raise UsageError("SOURCE_DATE_EPOCH is negative", fix="set a Unix time after 1970")
    return mtime


def tree_entries(root: str, prefix: str) -> list[Entry]:
    """Every directory, file and symlink under `root`, named under `prefix`, sorted."""
    entries = [Entry(prefix, None, 0o755)]
    for directory, subdirs, files in os.walk(root):
        relative = os.path.relpath(directory, root)
        base = prefix if relative == "." else f"{prefix}/{relative.replace(os.sep, '/')}"
        for name in subdirs + files:
            path = os.path.join(directory, name)
            member = f"{base}/{name}"
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                entries.append(Entry(member, None, 0o777, os.readlink(path)))
            elif stat.S_ISDIR(info.st_mode):
                entries.append(Entry(member, None, 0o755))
            elif stat.S_ISREG(info.st_mode):
                executable = info.st_mode & 0o111
                entries.append(Entry(member, path, 0o755 if executable else 0o644))
    entries.sort(key=lambda entry: entry.name)
    return entries


@dataclass(frozen=True)
class FileData:
    """A member's content inside a tar stream: the `size` bytes of the file at `path`."""

    path: str
    size: int


TarPart = bytes | FileData


def tar_parts(entries: Iterable[Entry], mtime: int) -> Iterator[TarPart]:
    """A POSIX (pax) tar of `entries` as headers and padding (bytes) and file contents.

    The bytes are those tarfile writes; handing out file contents as references lets the
    .tar.zst writer store a known file as a precompressed frame instead of reading it.
    """
    offset = 0
    for entry in entries:
        info = tarfile.TarInfo(entry.name)
        info.mtime = mtime
        info.mode = entry.mode
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if entry.link_target is not None:
            info.type = tarfile.SYMTYPE
            info.linkname = entry.link_target
        elif entry.source is None:
            info.type = tarfile.DIRTYPE
        else:
            info.size = os.path.getsize(entry.source)
        header = info.tobuf(tarfile.PAX_FORMAT, _TAR_ENCODING, "surrogateescape")
        yield header
        offset += len(header)
        if entry.source is not None and entry.link_target is None:
            yield FileData(entry.source, info.size)
            padding = -info.size % tarfile.BLOCKSIZE
            if padding:
                yield tarfile.NUL * padding
            offset += info.size + padding
    # Two zero blocks end the archive; the last record is filled up with zeros.
    offset += 2 * tarfile.BLOCKSIZE
    yield tarfile.NUL * (2 * tarfile.BLOCKSIZE + -offset % tarfile.RECORDSIZE)


def copy_file_data(part: FileData, handle: BinaryIO | gzip.GzipFile) -> None:
    """Write the content `part` refers to; a file that changed size is an error."""
    remaining = part.size
    with open(part.path, "rb") as source:
        while remaining > 0:
            chunk = source.read(min(remaining, 1 << 20))
            if not chunk:
                raise OSError(f"{part.path}: shrank while being archived")
            handle.write(chunk)
            remaining -= len(chunk)


def write_tar(entries: Iterable[Entry], handle: BinaryIO | gzip.GzipFile, mtime: int) -> None:
    """An uncompressed POSIX (pax) tar of `entries` into `handle`."""
    for part in tar_parts(entries, mtime):
        if isinstance(part, FileData):
            copy_file_data(part, handle)
        else:
            handle.write(part)


def write_tar_gz(entries: Iterable[Entry], path: str, mtime: int) -> None:
    """A reproducible .tar.gz: the gzip header carries no file name and time 0."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as packed,
    ):
        write_tar(entries, packed, mtime)


def zip_time(mtime: int) -> tuple[int, int, int, int, int, int]:
    """A zip entry's date_time for `mtime` (UTC; clamped to 1980, the format's floor)."""
    year, month, day, hour, minute, second = time.gmtime(max(mtime, DEFAULT_MTIME))[:6]
    return (year, month, day, hour, minute, second)


def write_zip(entries: Iterable[Entry], path: str, mtime: int) -> None:
    """A reproducible zip with Unix permissions in the external attributes."""
    date_time = zip_time(mtime)
    with zipfile.ZipFile(path, "w") as archive:
        for entry in entries:
            write_zip_entry(archive, entry, date_time)


def write_zip_entry(
    archive: zipfile.ZipFile, entry: Entry, date_time: tuple[int, int, int, int, int, int]
) -> None:
    """Add one entry to a zip archive with fixed metadata (mode, time, compression)."""
    _check_zip_name(entry)
    if entry.is_dir:
        info = zipfile.ZipInfo(entry.name + "/", date_time)
        info.external_attr = (stat.S_IFDIR | entry.mode) << 16 | 0x10
        info.create_system = 3
        archive.writestr(info, b"")
        return
    info = zipfile.ZipInfo(entry.name, date_time)
    info.create_system = 3
    info.compress_type = zipfile.ZIP_DEFLATED
    if entry.link_target is not None:
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, entry.link_target.encode())
        return
    info.external_attr = (stat.S_IFREG | entry.mode) << 16
    assert entry.source is not None
    with open(entry.source, "rb") as source, archive.open(info, "w") as target:
        while chunk := source.read(1 << 20):
            target.write(chunk)


def _check_zip_name(entry: Entry) -> None:
    """Refuse a name that is not UTF-8 (bytes the file system holds, decoded as
    surrogates): a zip member's name is text."""
    try:
        entry.name.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{os.fsencode(entry.name)!r} is not a UTF-8 file name, which a .zip cannot hold",
            path=entry.source,
            fix="rename it in UTF-8, or choose tar.gz or tar.zst, which keep any name",
        ) from None
