"""The onefile payload format, and reading it back from a file without running it.

A onefile executable is the program itself followed by a zip (the module archive):

    program, holding the slot       64 bytes found by their magic, patched at build time
    member, member, ...             each member's local header and data
    packager-hashes                 a BLAKE2b-128 hash of each member's bytes, header included
    central directory
    end record and comment          the comment describes the payload (entry, search paths)

The slot records the format, where the payload starts, its size, where the hash table
starts, and a BLAKE2b-64 checksum of everything from the table to the end of the file.
The start-up code (templates/runtime/packager_start.c) checks the slot against the
end record, then the checksum and the members Python reads first, before Python starts;
the boot module has every other member checked as it is read. `read_payload` checks all
of it, reporting what the program would refuse.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packager.binary.model import OnefilePayload
from packager.binary.onefile_markers import COMMENT_MAGIC, SLOT_MAGIC
from packager.core.errors import UnreadableInputError

FORMAT_VERSION = 2
# Formats this packager no longer writes, and what they lack.
_RETIRED_FORMATS = {
    1: "it carries no hashes of its modules, so altered modules would run unnoticed"
}

TABLE_MEMBER = "packager-hashes"
EARLY = 1  # table flag: Python reads the member before the boot module can check it

_SLOT_FIELDS = struct.Struct("<5Q")
SLOT_SIZE = len(SLOT_MAGIC) + _SLOT_FIELDS.size
_TABLE_ENTRY = struct.Struct("<QII16s")
_MEMBER_DIGEST = 16
_CHECKSUM_DIGEST = 8
_CHUNK = 1 << 20  # bytes hashed per step: memory stays flat whatever the file claims

_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIGNATURE = b"PK\x05\x06"
_LOCAL = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_DIRECTORY = struct.Struct("<4s6H3L5H2L")
_DIRECTORY_SIGNATURE = b"PK\x01\x02"
_MAX_COMMENT = 0xFFFF
_STORED, _DEFLATED = 0, 8
_DESCRIPTION_KEYS = ("python", "entry", "extensions")
_MAX_DIGITS = 9
_SHOWN_MEMBERS = 3

Buffer = bytes | bytearray | mmap.mmap


class _Damaged(Exception):
    """Why the start-up code would refuse the payload (never leaves this module)."""


@dataclass(frozen=True)
class SlotFields:
    """The layout record patched into the program's slot."""

    format: int  # 0: a plain program (no payload)
    payload_offset: int
    payload_size: int
    table_offset: int  # the hash table member, from the start of the file
    checksum: int  # BLAKE2b-64 (little-endian) of the file from `table_offset` on

    def pack(self) -> bytes:
        """The slot's bytes, magic included."""
        return SLOT_MAGIC + _SLOT_FIELDS.pack(
            self.format, self.payload_offset, self.payload_size, self.table_offset, self.checksum
        )


@dataclass(frozen=True)
class MemberHash:
    """One entry of the hash table."""

    offset: int  # of the member's local header, from the start of the zip
    length: int  # local header, name, extra field and data
    flags: int
    digest: bytes

    def pack(self) -> bytes:
        """The entry's bytes in the table."""
        return _TABLE_ENTRY.pack(self.offset, self.length, self.flags, self.digest)


@dataclass(frozen=True)
class EndRecord:
    """The zip's end record, as found from the end of a file."""

    position: int  # in the file
    single_disk: bool
    entries: int
    directory_size: int
    directory_offset: int  # from the start of the zip
    comment: bytes


@dataclass(frozen=True)
class PayloadDescription:
    """What the zip comment says."""

    python_version: str
    entry: str  # the program the payload starts with (its Rust main)
    search_paths: tuple[str, ...]  # relative to the executable; "." is the archive root
    extension_modules: int  # compiled modules carried, loaded at run time

    def render(self) -> bytes:
        """The zip comment."""
        lines = [
            COMMENT_MAGIC,
            f"python {self.python_version}",
            f"entry {self.entry}",
            f"extensions {self.extension_modules}",
            *(f"path {path}" for path in self.search_paths),
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")


def member_digest(data: bytes | memoryview) -> bytes:
    """The hash the table holds for one member's bytes."""
    return hashlib.blake2b(data, digest_size=_MEMBER_DIGEST).digest()


def pack_table(entries: Iterable[MemberHash]) -> bytes:
    """The content of the hash table member."""
    return b"".join(entry.pack() for entry in entries)


def table_size(entries: int) -> int:
    """The bytes of the hash table member, header included, in a zip of `entries` entries."""
    return _LOCAL.size + len(TABLE_MEMBER) + _TABLE_ENTRY.size * (entries - 1)


def seal(zipped: bytes, executable_size: int) -> SlotFields:
    """The slot for `zipped` (a module archive, hash table last) appended at `executable_size`."""
    end = find_end_record(zipped, len(zipped))
    assert end is not None, "a module archive ends with an end record"
    table = end.directory_offset - table_size(end.entries)
    checksum = _hash(zipped, table, len(zipped), _CHECKSUM_DIGEST)
    return SlotFields(
        format=FORMAT_VERSION,
        payload_offset=executable_size,
        payload_size=len(zipped),
        table_offset=executable_size + table,
        checksum=int.from_bytes(checksum, "little"),
    )


def find_slot(data: Buffer) -> int | None:
    """The offset of the program's slot, or None when the program has none."""
    offset = data.find(SLOT_MAGIC)
    return None if offset < 0 else offset


def read_slot(data: Buffer, offset: int) -> SlotFields:
    """The fields of the slot at `offset`."""
    return SlotFields(*_SLOT_FIELDS.unpack_from(data, offset + len(SLOT_MAGIC)))


def find_end_record(data: Buffer, size: int, start: int = 0) -> EndRecord | None:
    """The end record of the zip that ends `data` (`size` bytes), at or after `start`.

    The last signature whose comment reaches exactly to the end, as zip readers find it.
    """
    lowest = max(start, size - _EOCD.size - _MAX_COMMENT)
    end = size - _EOCD.size + len(_EOCD_SIGNATURE)
    while (position := data.rfind(_EOCD_SIGNATURE, lowest, end)) >= 0:
        end = position + len(_EOCD_SIGNATURE) - 1
        _, disk, directory_disk, disk_entries, entries, directory_size, directory_offset, length = (
            _EOCD.unpack_from(data, position)
        )
        if position + _EOCD.size + length == size:
            return EndRecord(
                position=position,
                single_disk=disk == directory_disk == 0 and disk_entries == entries,
                entries=entries,
                directory_size=directory_size,
                directory_offset=directory_offset,
                comment=bytes(data[position + _EOCD.size : size]),
            )
    return None


def read_payload(path: str) -> OnefilePayload | None:
    """The onefile payload of the file at `path`, or None when it carries none.

    Reads the file, never runs it. A payload the program would refuse (truncated,
    appended to, a layout record that does not match the archive, or any byte of the
    archive altered) is returned with `problem` set.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return None
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _read_mapped(path, data, size)
    except OSError as exc:
        raise UnreadableInputError(f"cannot read: {exc.strerror or exc}", path=path) from exc


def _read_mapped(path: str, data: mmap.mmap, size: int) -> OnefilePayload | None:
    slot_offset = find_slot(data)
    slot = read_slot(data, slot_offset) if slot_offset is not None else None
    if slot is not None and slot.format == 0:
        slot = None
    end = find_end_record(data, size, min(slot.payload_offset, size) if slot else 0)
    comment = end.comment if end is not None else b""
    if slot is None and not comment.startswith(COMMENT_MAGIC.encode() + b"\n"):
        return None
    description: PayloadDescription | None = None
    comment_problem = None
    try:
        description = _parse_description(comment)
    except _Damaged as damage:
        comment_problem = str(damage)
    executable_size = _executable_size(slot, end, size)
    payload = OnefilePayload(
        path=path,
        python_version=(description.python_version or None) if description else None,
        entry=(description.entry or None) if description else None,
        executable_size=executable_size,
        archive_size=size - executable_size,
        extension_modules=description.extension_modules if description else 0,
        search_paths=description.search_paths if description else (),
    )
    try:
        _check(data, size, slot, end, comment_problem)
    except _Damaged as damage:
        return payload._replace(problem=str(damage))
    return payload


def _executable_size(slot: SlotFields | None, end: EndRecord | None, size: int) -> int:
    if slot is not None:
        start = slot.payload_offset
    elif end is not None:
        start = end.position - end.directory_size - end.directory_offset
    else:
        start = size
    return min(max(start, 0), size)


def _check(
    data: mmap.mmap,
    size: int,
    slot: SlotFields | None,
    end: EndRecord | None,
    comment_problem: str | None,
) -> None:
    """Raise _Damaged with what the start-up code would refuse first, in its order."""
    if slot is None:
        raise _Damaged("the program has no payload slot, so its start-up code ignores the archive")
    if slot.format != FORMAT_VERSION:
        raise _Damaged(_format_problem(slot.format))
    expected = slot.payload_offset + slot.payload_size
    if size != expected:
        change = "truncated" if size < expected else "appended to"
        raise _Damaged(f"the file is {size} bytes but was written as {expected} bytes ({change})")
    if end is None:
        raise _Damaged("the module archive's end record is missing")
    _check_layout(data, size, slot, end)
    hashes = _member_hashes(data, slot, end.entries)
    if comment_problem is not None:
        raise _Damaged(comment_problem)
    directory = _directory(data, slot.payload_offset + end.directory_offset, end)
    damaged = _damaged_members(data, slot, directory, hashes)
    if damaged:
        shown = "; ".join(damaged[:_SHOWN_MEMBERS])
        more = len(damaged) - _SHOWN_MEMBERS
        raise _Damaged(shown + (f"; and {more} more members" if more > 0 else ""))


def _format_problem(found: int) -> str:
    if found in _RETIRED_FORMATS:
        return f"payload format {found} was written by an older packager: {_RETIRED_FORMATS[found]}"
    return f"payload format {found} is not one this packager knows ({FORMAT_VERSION})"


def _check_layout(data: mmap.mmap, size: int, slot: SlotFields, end: EndRecord) -> None:
    """The slot must agree with the end record before anything is hashed: the table the
    directory implies ends where the directory starts, which ends where the record is."""
    directory_start = slot.payload_offset + end.directory_offset
    consistent = (
        end.single_disk
        and end.entries > 0
        and directory_start + end.directory_size == end.position
        and slot.payload_offset <= slot.table_offset
        and slot.table_offset + table_size(end.entries) == directory_start
    )
    if not consistent:
        raise _Damaged("the payload's layout record is inconsistent with its module archive")
    checksum = _hash(data, slot.table_offset, size, _CHECKSUM_DIGEST)
    if int.from_bytes(checksum, "little") != slot.checksum:
        raise _Damaged(
            "the module archive's table of contents does not match the checksum written "
            "when it was built"
        )


def _member_hashes(data: mmap.mmap, slot: SlotFields, entries: int) -> list[MemberHash]:
    """The hash table: a stored member, entries in order, apart, each before the table."""
    header = _LOCAL.unpack_from(data, slot.table_offset)
    content_size = _TABLE_ENTRY.size * (entries - 1)
    name_start = slot.table_offset + _LOCAL.size
    name = data[name_start : name_start + len(TABLE_MEMBER)]
    malformed = _Damaged("the module archive's hash table is malformed")
    if header[0] != _LOCAL_SIGNATURE or header[3] != _STORED or name != TABLE_MEMBER.encode():
        raise malformed
    if header[7:] != (content_size, content_size, len(TABLE_MEMBER), 0):
        raise malformed
    table_start = slot.table_offset - slot.payload_offset
    hashes: list[MemberHash] = []
    free_from = 0
    content = name_start + len(TABLE_MEMBER)
    for fields in _TABLE_ENTRY.iter_unpack(data[content : content + content_size]):
        entry = MemberHash(*fields)
        if entry.offset < free_from or entry.length < _LOCAL.size:
            raise malformed
        free_from = entry.offset + entry.length
        if free_from > table_start:
            raise malformed
        hashes.append(entry)
    return hashes


def _directory(data: mmap.mmap, start: int, end: EndRecord) -> list[tuple[str, int, int, int]]:
    """(name, method, stored size, local header offset) of each central directory entry."""
    entries: list[tuple[str, int, int, int]] = []
    position = start
    for _ in range(end.entries):
        if position + _DIRECTORY.size > end.position:
            raise _Damaged("the module archive's table of contents is malformed")
        fields = _DIRECTORY.unpack_from(data, position)
        if fields[0] != _DIRECTORY_SIGNATURE:
            raise _Damaged("the module archive's table of contents is malformed")
        name_start = position + _DIRECTORY.size
        name = bytes(data[name_start : name_start + fields[10]]).decode("utf-8", "replace")
        entries.append((name, fields[4], fields[8], fields[16]))
        position = name_start + fields[10] + fields[11] + fields[12]
    return entries


def _damaged_members(
    data: mmap.mmap,
    slot: SlotFields,
    directory: Sequence[tuple[str, int, int, int]],
    hashes: Sequence[MemberHash],
) -> list[str]:
    """What the program refuses when it reads it, named as the directory names it."""
    table_start = slot.table_offset - slot.payload_offset
    names = {offset: name for name, _, _, offset in directory}
    damaged: dict[int, str] = {}
    for entry in hashes:
        start = slot.payload_offset + entry.offset
        if _hash(data, start, start + entry.length, _MEMBER_DIGEST) != entry.digest:
            name = names.get(entry.offset, f"the member at offset {entry.offset}")
            damaged[entry.offset] = f"{name} does not match the hash written when it was built"
    by_offset = {entry.offset: entry for entry in hashes}
    for name, method, stored_size, offset in directory:
        known = by_offset.get(offset)
        if offset == table_start or offset in damaged:
            continue
        if method not in (_STORED, _DEFLATED):
            damaged[offset] = f"{name} is compressed with a method the program cannot read"
        elif known is None:
            damaged[offset] = f"{name} has no hash in the module archive"
        elif not _header_matches(data, slot.payload_offset + offset, stored_size, known):
            damaged[offset] = f"{name} does not match its entry in the table of contents"
    return list(damaged.values())


def _header_matches(data: mmap.mmap, start: int, stored_size: int, entry: MemberHash) -> bool:
    signature, *_, name_size, extra_size = _LOCAL.unpack_from(data, start)
    data_start = _LOCAL.size + name_size + extra_size
    return bool(signature == _LOCAL_SIGNATURE and data_start + stored_size == entry.length)


def _parse_description(comment: bytes) -> PayloadDescription:
    """The payload description; every line must be well formed, as the start-up code
    requires (numbers in ASCII digits, paths inside the archive)."""
    try:
        text = comment.decode("utf-8")
    except UnicodeDecodeError:
        raise _Damaged("the zip comment is not text") from None
    lines = text[:-1].split("\n") if text.endswith("\n") else [""]
    if lines[0] != COMMENT_MAGIC:
        raise _Damaged("the zip comment is not a payload description")
    values: dict[str, str] = {}
    paths: list[str] = []
    for line in lines[1:]:
        key, space, value = line.partition(" ")
        if space and key == "path" and _inside_archive(value):
            paths.append(value)
        elif space and key in _DESCRIPTION_KEYS and key not in values:
            if key == "extensions" and not _ascii_number(value):
                raise _Damaged(f"the payload description's line {line!r} is malformed")
            values[key] = value
        else:
            raise _Damaged(f"the payload description's line {line!r} is malformed")
    if len(values) != len(_DESCRIPTION_KEYS):
        raise _Damaged("the payload description is incomplete")
    return PayloadDescription(
        python_version=values["python"],
        entry=values["entry"],
        search_paths=tuple(paths),
        extension_modules=int(values["extensions"]),
    )


def _ascii_number(value: str) -> bool:
    # Not str.isdigit(): it accepts "²", which int() refuses.
    return 0 < len(value) <= _MAX_DIGITS and all("0" <= char <= "9" for char in value)


def _inside_archive(path: str) -> bool:
    """ "." (the archive root) or a relative path with no "..", "." or empty parts."""
    parts = path.split("/")
    return path == "." or ("\0" not in path and all(p not in ("", ".", "..") for p in parts))


def _hash(data: Buffer, start: int, stop: int, digest_size: int) -> bytes:
    """BLAKE2b of data[start:stop], fed in bounded chunks of the mapping, never a copy."""
    hasher = hashlib.blake2b(digest_size=digest_size)
    with memoryview(data) as view:
        for chunk_start in range(start, stop, _CHUNK):
            with view[chunk_start : min(stop, chunk_start + _CHUNK)] as chunk:
                hasher.update(chunk)
    return hasher.digest()
