"""A damaged cache is found, said and repaired, never shipped.

Each test bundles the hello binary with a cache of its own, damages what the first run
left there, and bundles again: the second run must note the damage, prepare the runtime
afresh, and write a bundle that runs. A record read back from the cache is data: a
site-packages record pointing out of the tree is replaced, and nothing is written there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packager.bundle import BundleRequest, bundle, verify_bundle
from packager.core.context import Context
from tests.integration.bundle_helpers import bundle_environ

pytestmark = pytest.mark.integration


def _bundle(binary: Path, out: Path, cache: Path) -> list[str]:
    """Bundle `binary` into `out` with `cache` as the cache's home; the notes it gave."""
    notes: list[str] = []
    environ = {**bundle_environ(), "XDG_CACHE_HOME": str(cache)}
    bundle(
        BundleRequest(str(binary), out_dir=str(out)), Context(environ=environ, note=notes.append)
    )
    return notes


def _prepared_module(cache: Path) -> Path:
    [module] = cache.glob("packager/runtime/*/lib/python3*/json/decoder.pyc")
    return module


def _runs(tree: Path) -> bool:
    return verify_bundle(str(tree), environ=bundle_environ()).ok


@pytest.mark.parametrize("damage", ["truncate", "truncate and lose the manifest"])
def test_a_damaged_prepared_runtime_is_prepared_again(
    hello_binary: Path, tmp_path: Path, damage: str
) -> None:
    cache = tmp_path / "cache"
    _bundle(hello_binary, tmp_path / "first", cache)
    module = _prepared_module(cache)
    whole = module.read_bytes()
    module.write_bytes(whole[: len(whole) // 2])
    if "manifest" in damage:
        (module.parents[3] / "manifest.json").unlink()
    second = _bundle(hello_binary, tmp_path / "second", cache)
    [shipped] = (tmp_path / "second").glob("*/lib/python3*/json/decoder.pyc")
    assert (shipped.read_bytes(), _prepared_module(cache).read_bytes()) == (whole, whole)
    assert any("is damaged" in note for note in second)
    assert _runs(shipped.parents[3])


def test_a_module_edited_in_a_bundle_is_not_shipped_by_the_next(
    hello_binary: Path, tmp_path: Path
) -> None:
    """The bundle's modules share their files with the prepared runtime: an edit made
    through the first bundle (same size, written in place) reaches the cache, where the
    next bundle finds it, says so and prepares the runtime again."""
    cache = tmp_path / "cache"
    _bundle(hello_binary, tmp_path / "first", cache)
    [edited] = (tmp_path / "first").glob("*/lib/python3*/json/decoder.pyc")
    whole = edited.read_bytes()
    with open(edited, "r+b") as stream:
        stream.seek(len(whole) // 2)
        stream.write(bytes([whole[len(whole) // 2] ^ 0xFF]))
    second = _bundle(hello_binary, tmp_path / "second", cache)
    [shipped] = (tmp_path / "second").glob("*/lib/python3*/json/decoder.pyc")
    damaged = [note for note in second if "is damaged" in note]
    assert (shipped.read_bytes() == whole, len(damaged)) == (True, 1), second


def test_a_site_packages_record_pointing_out_of_the_tree_is_replaced(
    hello_binary: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _bundle(hello_binary, tmp_path / "first", cache)
    [record] = cache.glob("packager/site-packages/*.txt")
    outside = tmp_path / "outside"
    tree = tmp_path / "second" / hello_binary.name
    record.write_text(os.path.relpath(outside, tree))
    for entry in cache.glob("packager/runtime/*"):  # so the record is read again
        entry.rename(tmp_path / f"old-{entry.name}")
    _bundle(hello_binary, tmp_path / "second", cache)
    assert not outside.exists()
    assert record.read_text().startswith("lib/python3")
    assert _runs(tree)
