"""The byte markers of a onefile program, and a cheap look for them that parses nothing.

Kept apart from `payload` so that `inspect` pays for the full reader only when a file
carries one of these markers.
"""

from __future__ import annotations

import mmap
import os

SLOT_MAGIC = b"packager-onefile-slot:v1"
COMMENT_MAGIC = "packager-onefile 1"
# The zip comment sits in the last 64 KiB + 22 bytes (the end record) of the file.
_TAIL = 0xFFFF + 22


def has_slot(path: str) -> bool:
    """Whether the program carries packager's start-up code (the slot): `packager build`
    links it into every program it builds."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(SLOT_MAGIC) >= 0


def may_carry_payload(path: str) -> bool:
    """Whether the file has a filled slot or a payload comment: a onefile, maybe damaged."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            slot = data.find(SLOT_MAGIC)
            # The first field after the magic is the format: 0 in a plain program.
            start = slot + len(SLOT_MAGIC)
            if slot >= 0 and data[start : start + 8] != bytes(8):
                return True
            return data.find(COMMENT_MAGIC.encode(), max(0, size - _TAIL)) >= 0
