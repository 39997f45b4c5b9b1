"""An icon is read from a regular file of bounded size, and only a whole PNG is taken."""

from __future__ import annotations

import os
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
