"""How much an archive may unpack to: a floor for small archives, a ratio for large ones."""

from __future__ import annotations

from packager.core.safe_extract import unpacked_limit


def test_a_small_archive_may_unpack_to_the_floor() -> None:
    assert unpacked_limit(1 << 20) == 512 << 20


def test_a_large_archive_may_unpack_to_a_hundred_times_its_size() -> None:
    assert unpacked_limit(1 << 30) == 100 << 30
