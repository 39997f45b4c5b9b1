"""A Windows icon (.ico) that holds one PNG image, as Windows Vista and later read it.

An ICO file is a 6-byte header, one 16-byte directory entry per image, then the images;
an entry may hold a whole PNG file. Width and height are one byte each, 0 meaning 256:
a larger PNG is declared as 256, and Windows reads its real size from the PNG itself.
"""

from __future__ import annotations

import struct

from packager.crate.icon import PNG_SIGNATURE

_HEADER = struct.Struct("<HHH")  # reserved, type (1: icon), image count
_ENTRY = struct.Struct("<BBBBHHII")  # width, height, colours, reserved, planes, bits, size, offset


def png_to_ico(png: bytes) -> bytes:
    """An .ico file whose one image is the square PNG `png`."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR" or len(png) < 24:
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    offset = _HEADER.size + _ENTRY.size
    entry = _ENTRY.pack(_side(width), _side(height), 0, 0, 1, 32, len(png), offset)
    return _HEADER.pack(0, 1, 1) + entry + png


def _side(pixels: int) -> int:
    return 0 if pixels >= 256 else pixels
