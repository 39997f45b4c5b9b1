"""Ways to alter a onefile program's bytes, for the hostile-input tests.

Each takes the file's bytes and returns altered bytes. "Resealed" alterations also
rewrite the slot's checksum, as someone crafting a file would: they test what is checked
beyond the checksum.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import zipfile

from packager.binary.onefile_payload import (
    SLOT_SIZE,
    TABLE_MEMBER,
    SlotFields,
    find_slot,
    read_slot,
    seal,
)

_TABLE_ENTRY = struct.Struct("<QII16s")
_LOCAL_HEADER_SIZE = 30
_EOCD_SIZE = 22


def slot_of(data: bytes) -> SlotFields:
    """The program's slot."""
    offset = find_slot(data)
    assert offset is not None, "the program has no payload slot"
    return read_slot(data, offset)


def patched_slot(data: bytes, **changes: int) -> bytes:
    """`data` with slot fields replaced (format, payload_offset, table_offset, ...)."""
    offset = find_slot(data)
    assert offset is not None
    fields = dataclasses.replace(read_slot(data, offset), **changes)
    return data[:offset] + fields.pack() + data[offset + SLOT_SIZE :]


def resealed(data: bytes) -> bytes:
    """`data` with the slot rewritten for the zip it now carries (checksum included)."""
    executable_size = slot_of(data).payload_offset
    fields = seal(data[executable_size:], executable_size)
    return patched_slot(data, **dataclasses.asdict(fields))


def with_comment(data: bytes, comment: bytes) -> bytes:
    """`data` with the zip comment replaced, resealed."""
    end = data.rindex(b"PK\x05\x06")
    record = data[end : end + _EOCD_SIZE - 2] + struct.pack("<H", len(comment))
    return resealed(data[:end] + record + comment)


def member_span(data: bytes, member: str) -> tuple[int, int]:
    """(start, end) in the file of `member`'s stored data."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    # zipfile counts header_offset from the start of the file, program included.
    start = info.header_offset + _LOCAL_HEADER_SIZE + len(info.filename.encode()) + len(info.extra)
    return start, start + info.compress_size


def flip_bit(data: bytes, offset: int, bit: int = 0) -> bytes:
    """`data` with one bit inverted."""
    return data[:offset] + bytes([data[offset] ^ (1 << bit)]) + data[offset + 1 :]


def replaced_in_member(data: bytes, member: str, old: bytes, new: bytes) -> bytes:
    """`data` with `old` (found once in `member`'s stored data) replaced by `new`."""
    assert len(old) == len(new)
    start, end = member_span(data, member)
    at = data.index(old, start, end)
    assert data.find(old, at + 1, end) < 0, f"{old!r} is in {member} more than once"
    return data[:at] + new + data[at + len(old) :]


def table_flags_cleared(data: bytes, member: str) -> bytes:
    """`data` with the hash table's flags for `member` cleared, resealed."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offset = archive.getinfo(member).header_offset - slot_of(data).payload_offset
    altered = bytearray(data)
    for at in range(*member_span(data, TABLE_MEMBER), _TABLE_ENTRY.size):
        entry_offset, length, _, digest = _TABLE_ENTRY.unpack_from(data, at)
        if entry_offset == offset:
            _TABLE_ENTRY.pack_into(altered, at, entry_offset, length, 0, digest)
            return resealed(bytes(altered))
    raise AssertionError(f"{member} is not in the hash table")
