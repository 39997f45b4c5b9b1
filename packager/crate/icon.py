"""An app's icon: a square PNG, read from a regular file of bounded size, whole and checked.

Installers copy the icon into menus and convert it (.ico for Windows), so it is read once
here: a FIFO or device is refused before it is opened (a FIFO would block the read), a
file over MAX_ICON_BYTES is refused before it is read, and the PNG must be whole: its
chunks in bounds, their CRCs right, image data present, and IEND last, and its image
data must inflate (zlib) to no more than an image of its size holds: a damaged stream or
a small file that inflates to hundreds of megabytes is refused.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from dataclasses import dataclass

from packager.core.errors import UsageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_ICON_PIXELS = 1024
# A 1024x1024 RGBA image stored uncompressed, with room for its chunks.
MAX_ICON_BYTES = 8 << 20


@dataclass(frozen=True)
class Icon:
    """A square PNG, and its size in pixels."""

    path: str  # absolute
    size: int


def read_icon(path: str, *, option: str = "--icon") -> Icon:
    """Check that `path` is a whole, square PNG of 16 to MAX_ICON_PIXELS pixels; its size."""
    data = _read_regular_file(path, option)
    if not _is_whole_png(data):
        raise UsageError(f"{option}: the icon is not a PNG image", path=path, fix="give a PNG")
    width, height = struct.unpack(">II", data[16:24])
    if width != height or not 16 <= width <= MAX_ICON_PIXELS:
        raise UsageError(
            f"{option}: the icon is {width}x{height}; a square PNG of 16 to "
            f"{MAX_ICON_PIXELS} pixels is needed",
            path=path,
            fix="e.g. a 256x256 PNG",
        )
    if not _image_data_fits(_image_data(data), width):
        raise UsageError(
            f"{option}: the icon's image data is damaged or larger than a {width}x{width} "
            "image holds",
            path=path,
            fix="save the PNG again with an image editor",
        )
    return Icon(os.path.abspath(path), width)


def _read_regular_file(path: str, option: str) -> bytes:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{option}: the icon is not a regular file", path=path)
        if info.st_size > MAX_ICON_BYTES:
            raise UsageError(
                f"{option}: the icon is {info.st_size} bytes; at most {MAX_ICON_BYTES} are read",
                path=path,
                fix="give a PNG of at most 1024x1024 pixels",
            )
        with open(path, "rb") as handle:
            return handle.read(MAX_ICON_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            f"{option}: cannot read the icon ({exc.strerror or exc})", path=path
        ) from exc


def _is_whole_png(data: bytes) -> bool:
    """Whether `data` is a PNG whose chunks are in bounds with right CRCs, IHDR first, some
    IDAT, and IEND at the very end."""
    if not data.startswith(PNG_SIGNATURE):
        return False
    offset, kinds = len(PNG_SIGNATURE), []
    while offset + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        end = offset + 12 + length
        if end > len(data):
            return False
        body = data[offset + 4 : offset + 8 + length]
        if struct.unpack_from(">I", data, offset + 8 + length)[0] != zlib.crc32(body):
            return False
        kinds.append(body[:4])
        offset = end
        if kinds[-1] == b"IEND":
            break
    return (
        bool(kinds)
        and kinds[0] == b"IHDR"
        and b"IDAT" in kinds
        and kinds[-1] == b"IEND"
        and offset == len(data)
    )


def _image_data(data: bytes) -> bytes:
    """The IDAT chunks' data of the whole PNG `data`, joined."""
    offset, parts = len(PNG_SIGNATURE), []
    while offset + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        if data[offset + 4 : offset + 8] == b"IDAT":
            parts.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return b"".join(parts)


def _image_data_fits(compressed: bytes, size: int) -> bool:
    """Whether `compressed` is one whole zlib stream that inflates to at most what a
    `size`x`size` image holds (8 bytes a pixel at most, a filter byte a row, Adam7's
    passes at most 7 rows more); inflated no further than that."""
    bound = (size + 7) * (size * 8 + 1)
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(compressed, bound + 1)
    except zlib.error:
        return False
    return inflater.eof and len(inflated) <= bound
