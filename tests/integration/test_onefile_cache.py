"""A onefile rebuild takes the compiled standard library and the deflated members from the
cache: it writes the bytes a build with an empty cache writes, and a damaged entry is
made again rather than shipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.bundle.onefile.builder import OnefileResult
from tests.helpers import SAMPLES, cargo_env
from tests.integration.test_onefile import DEBIAN_PYTHON, EPOCH, _require_tools, build_onefile

pytestmark = pytest.mark.integration


def _build(out: Path, cache: Path) -> OnefileResult:
    _require_tools()
    return build_onefile(
        str(SAMPLES / "hello"),
        environ=cargo_env(SOURCE_DATE_EPOCH=EPOCH, XDG_CACHE_HOME=str(cache)),
        out=str(out),
        python=DEBIAN_PYTHON,
    )


def _kept_module(cache: Path) -> Path:
    [module] = cache.glob("packager/onefile-stdlib/*/json/decoder.pyc")
    return module


def test_a_rebuild_from_the_cache_writes_the_cold_builds_bytes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _build(tmp_path / "cold" / "hello", cache)
    warm = _build(tmp_path / "warm" / "hello", cache)
    kept = [p for p in (cache / "packager" / "deflated").rglob("*") if p.is_file()]
    assert (warm.sha256, _kept_module(cache).is_file(), len(kept) > 500) == (
        cold.sha256,
        True,
        True,
    )


def test_a_damaged_standard_library_entry_is_made_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _build(tmp_path / "first" / "hello", cache)
    module = _kept_module(cache)
    whole = module.read_bytes()
    module.write_bytes(whole[: len(whole) // 2])
    second = _build(tmp_path / "second" / "hello", cache)
    assert (_kept_module(cache).read_bytes(), second.sha256) == (whole, first.sha256)
