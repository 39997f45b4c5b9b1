"""An icon is read from a regular file of bounded size, and only a whole PNG is taken."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from packager.core.errors import UsageError
from packager.crate.icon import MAX_ICON_BYTES, read_icon
from tests.helpers import png


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "icon.png"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        read_icon(str(fifo))


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = png(tmp_path / "big.png", 64)
    with big.open("ab") as handle:
        handle.truncate(MAX_ICON_BYTES + 1)
    with pytest.raises(UsageError, match=f"at most {MAX_ICON_BYTES} are read"):
        read_icon(str(big))


@pytest.mark.parametrize(
    "cut", [24, 33, -12, -1], ids=["header-only", "ihdr-only", "no-iend", "cut-iend"]
)
def test_a_png_that_is_not_whole_is_refused(tmp_path: Path, cut: int) -> None:
    data = png(tmp_path / "whole.png", 64).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:cut])
    with pytest.raises(UsageError, match="not a PNG image"):
        read_icon(str(tmp_path / "cut.png"))


def test_a_png_with_a_wrong_crc_is_refused(tmp_path: Path) -> None:
    data = bytearray(png(tmp_path / "whole.png", 64).read_bytes())
    data[40] ^= 0x01  # inside IDAT's data
    (tmp_path / "flipped.png").write_bytes(bytes(data))
    with pytest.raises(UsageError, match="not a PNG image"):
        read_icon(str(tmp_path / "flipped.png"))


def test_a_whole_square_png_is_taken_with_its_size(tmp_path: Path) -> None:
    assert read_icon(str(png(tmp_path / "icon.png", 256))).size == 256


def _with_image_data(path: Path, size: int, idat: bytes) -> Path:
    """A PNG of `size`x`size` whose IDAT holds `idat`, its chunks otherwise whole."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )  # fmt: skip
    return path


@pytest.mark.parametrize(
    "idat",
    [b"not zlib at all", zlib.compress(bytes(200 << 20))[:-40], zlib.compress(bytes(200 << 20))],
    ids=["not-zlib", "cut-stream", "inflates-to-200-MB"],
)
def test_image_data_that_does_not_inflate_to_the_image_is_refused(
    tmp_path: Path, idat: bytes
) -> None:
    icon = _with_image_data(tmp_path / "icon.png", 64, idat)
    with pytest.raises(UsageError, match="image data is damaged or larger than a 64x64 image"):
        read_icon(str(icon))
