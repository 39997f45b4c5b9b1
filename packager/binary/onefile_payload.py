"""The onefile payload format, and reading it back from a file without running it.

A onefile executable is the program itself followed by a zip (the module archive). The
zip's comment describes the payload (format line, Python version, entry point, search
paths). The program carries a 64-byte slot, found by its magic, that records where the
payload starts, its size, and a checksum of the zip's central directory and end record;
the start-up code (templates/runtime/packager_runtime.rs) checks them before Python
starts, and the slot is also what tells a truncated onefile from a plain program.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass

from packager.binary.onefile_markers import COMMENT_MAGIC, SLOT_MAGIC
from packager.errors import UnreadableInputError
from packager.model import OnefilePayload

_SLOT_FIELDS = struct.Struct("<5Q")
SLOT_SIZE = len(SLOT_MAGIC) + _SLOT_FIELDS.size
FORMAT_VERSION = 1

_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIGNATURE = b"PK\x05\x06"
_MAX_COMMENT = 0xFFFF


@dataclass(frozen=True)
class SlotFields:
    """The layout record patched into the program's slot."""

    format: int  # 0: a plain program (no payload)
    payload_offset: int
    payload_size: int
    directory_offset: int
    directory_checksum: int

    def pack(self) -> bytes:
        """The slot's bytes, magic included."""
        return SLOT_MAGIC + _SLOT_FIELDS.pack(
            self.format,
            self.payload_offset,
            self.payload_size,
            self.directory_offset,
            self.directory_checksum,
        )


@dataclass(frozen=True)
class PayloadDescription:
    """What the zip comment says."""

    python_version: str
    entry: str  # the program the payload starts with (its Rust main)
    search_paths: tuple[str, ...]  # relative to the executable; "." is the archive root
    extension_modules: int  # compiled modules loaded from memory at run time

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


def fnv1a64(data: bytes | memoryview) -> int:
    """FNV-1a 64-bit hash (the start-up code's directory checksum)."""
    value = 0xCBF29CE484222325
    for byte in bytes(data):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def find_slot(data: bytes | bytearray | mmap.mmap) -> int | None:
    """The offset of the program's slot, or None when the program has none."""
    offset = data.find(SLOT_MAGIC)
    return None if offset < 0 else offset


def read_slot(data: bytes | bytearray | mmap.mmap, offset: int) -> SlotFields:
    """The fields of the slot at `offset`."""
    start = offset + len(SLOT_MAGIC)
    return SlotFields(*_SLOT_FIELDS.unpack(data[start : start + _SLOT_FIELDS.size]))


def parse_tail(tail: bytes, file_size: int) -> tuple[int, PayloadDescription] | None:
    """(central directory offset, description) from the last bytes of a file, or None.

    `tail` is the end of a file of `file_size` bytes (at least the end record and its
    comment). None when the file does not end with a zip whose comment is a payload's.
    """
    lowest = max(0, len(tail) - _EOCD.size - _MAX_COMMENT)
    end = len(tail) - _EOCD.size + 4
    while (position := tail.rfind(_EOCD_SIGNATURE, lowest, end)) >= 0:
        end = position + 3
        fields = _EOCD.unpack_from(tail, position)
        if position + _EOCD.size + fields[7] != len(tail):
            continue  # "PK\5\6" inside the comment or the data, not the end record
        description = parse_comment(tail[position + _EOCD.size :])
        if description is None:
            return None
        directory_size = fields[5]
        return file_size - len(tail) + position - directory_size, description
    return None


def parse_comment(comment: bytes) -> PayloadDescription | None:
    """The description in a payload's zip comment, or None for any other comment."""
    try:
        lines = comment.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None
    if not lines or lines[0] != COMMENT_MAGIC:
        return None
    values: dict[str, str] = {}
    paths: list[str] = []
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        if key == "path":
            paths.append(value)
        else:
            values[key] = value
    extensions = values.get("extensions", "0")
    return PayloadDescription(
        python_version=values.get("python", ""),
        entry=values.get("entry", ""),
        search_paths=tuple(paths),
        extension_modules=int(extensions) if extensions.isdigit() else 0,
    )


def read_payload(path: str) -> OnefilePayload | None:
    """The onefile payload of the file at `path`, or None when it carries none.

    Reads the file, never runs it. A damaged payload (truncated, appended to, or with a
    table of contents that no longer matches its checksum) is returned with `problem` set.
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
    tail_start = max(0, size - _EOCD.size - _MAX_COMMENT)
    parsed = parse_tail(data[tail_start:], size)
    slot_offset = find_slot(data)
    slot = read_slot(data, slot_offset) if slot_offset is not None else None
    if slot is not None and slot.format == 0:
        slot = None
    if parsed is None and slot is None:
        return None
    if parsed is None:
        assert slot is not None
        return OnefilePayload(
            path=path,
            python_version=None,
            entry=None,
            executable_size=slot.payload_offset,
            archive_size=max(0, size - slot.payload_offset),
            extension_modules=0,
            search_paths=(),
            problem=_size_problem(size, slot) or "the module archive's end record is missing",
        )
    directory_offset, description = parsed
    executable_size = slot.payload_offset if slot is not None else directory_offset
    payload = OnefilePayload(
        path=path,
        python_version=description.python_version or None,
        entry=description.entry or None,
        executable_size=executable_size,
        archive_size=size - executable_size,
        extension_modules=description.extension_modules,
        search_paths=description.search_paths,
    )
    return _with_problem(payload, data, size, slot)


def _with_problem(
    payload: OnefilePayload, data: mmap.mmap, size: int, slot: SlotFields | None
) -> OnefilePayload:
    if slot is None:
        missing = "the program has no payload slot, so its start-up code ignores the archive"
        return payload._replace(problem=missing)
    problem = _size_problem(size, slot)
    if problem is None and slot.format != FORMAT_VERSION:
        problem = f"payload format {slot.format} is not one this packager knows ({FORMAT_VERSION})"
    if problem is None and not slot.payload_offset <= slot.directory_offset <= size:
        problem = "the payload's layout record is inconsistent"
    if problem is None and fnv1a64(data[slot.directory_offset :]) != slot.directory_checksum:
        problem = "the module archive's table of contents does not match its checksum"
    return payload._replace(problem=problem) if problem else payload


def _size_problem(size: int, slot: SlotFields) -> str | None:
    expected = slot.payload_offset + slot.payload_size
    if size == expected:
        return None
    change = "truncated" if size < expected else "appended to"
    return f"the file is {size} bytes but was written as {expected} bytes ({change})"
