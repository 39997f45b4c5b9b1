"""Manifest-checked folder entries of the cache (`packager.core.cache.tree_entry`).

A reused entry is checked against its manifest: files whose device, inode, size and
mtime are those recorded are taken as they are, any other is hashed (and the marks
recorded anew). Real files in a temporary cache; the damage is done as a user's tool would do it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from packager.core import cache

MODULE = b"print('kept')\n" * 64


def _entry(parent: Path) -> cache.TreeEntry:
    """The entry `key` under `parent`, made (once) with one module in it."""

    def build(root: str) -> None:
        Path(root, "pkg").mkdir()
        Path(root, "pkg", "module.py").write_bytes(MODULE)

    return cache.tree_entry(
        str(parent), "key", build, scratch=str(parent / "scratch"), note=print, what="test"
    )


def test_a_file_rewritten_in_place_with_the_same_size_is_found(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    module = Path(entry.root, "pkg", "module.py")
    module.write_bytes(MODULE.replace(b"kept", b"KEPT"))
    assert cache.checked_tree(entry.root) == (None, "pkg/module.py does not match its manifest")


def test_a_touched_file_with_the_same_bytes_is_still_the_entrys(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    module = Path(entry.root, "pkg", "module.py")
    os.utime(module, ns=(1, 1))
    found, damage = cache.checked_tree(entry.root)
    assert (found is not None and found.digests == entry.digests, damage) == (True, "")


def test_a_manifest_without_marks_is_checked_by_hashing(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    manifest = Path(entry.root, cache.MANIFEST)
    manifest.write_text(json.dumps({"files": dict(entry.digests)}), encoding="utf-8")
    Path(entry.root, "pkg", "module.py").write_bytes(MODULE.upper())
    assert cache.checked_tree(entry.root) == (None, "pkg/module.py does not match its manifest")


def test_a_reused_entry_is_the_one_made(tmp_path: Path) -> None:
    made = _entry(tmp_path)
    assert _entry(tmp_path) == cache.TreeEntry(made.root, made.digests, cached=True)


def test_a_checked_entry_whose_marks_changed_records_them_anew(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    module = Path(entry.root, "pkg", "module.py")
    os.utime(module, ns=(1, 1))
    cache.checked_tree(entry.root)
    manifest = json.loads(Path(entry.root, cache.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["marks"]["pkg/module.py"][3] == 1
