"""The per-user cache of work packager repeats: `$XDG_CACHE_HOME/packager` (~/.cache/packager).

Entries are keyed by everything their content depends on, published whole by one rename
(a reader sees a complete entry or none), and never modified afterwards, so concurrent
runs may share the cache: the loser of a race discards its copy. Deleting the directory
is always safe; the next run rebuilds what it needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packager.core.fsutil import atomic_write_text, files_under, link_tree, sha256_file

BUILDING_PREFIX = ".building-"  # a cache entry being made, renamed into place when whole
MANIFEST = "manifest.json"  # a tree entry's SHA-256 of each of its files, written last


@dataclass(frozen=True)
class TreeEntry:
    """A directory of files in the cache (or in scratch) and the SHA-256 of each."""

    root: str
    digests: Mapping[str, str]  # by POSIX path relative to root, manifest excluded
    cached: bool  # False when built in a scratch directory


def cache_key(facts: Mapping[str, object]) -> str:
    """A short stable digest of `facts` (JSON-serialisable), for an entry's name."""
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def file_identity(path: str) -> dict[str, object]:
    """What identifies a file's version without reading it: real path, size, mtime."""
    real = os.path.realpath(path)
    info = os.stat(real)
    return {"path": real, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def new_entry_dir(parent: str) -> str | None:
    """A fresh private directory inside `parent` to build an entry in; None if unwritable."""
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(prefix=BUILDING_PREFIX, dir=parent)
    except OSError:
        return None


def publish(building: str, final: str) -> str:
    """Rename the finished `building` directory to `final`; the entry to use from now on.

    When another run published `final` first, its entry is kept and ours is removed.
    """
    try:
        os.rename(building, final)
    except OSError:
        if not os.path.isdir(final):
            raise
        shutil.rmtree(building, ignore_errors=True)
    return final


def discard(entry: str) -> None:
    """Remove a damaged entry: renamed away first, so no run sees it half removed and the
    next build can publish in its place."""
    parent = os.path.dirname(entry)
    aside = new_entry_dir(parent)
    if aside is None:
        shutil.rmtree(entry, ignore_errors=True)
        return
    with contextlib.suppress(OSError):  # another run removed it first
        os.rename(entry, os.path.join(aside, "damaged"))
    shutil.rmtree(aside, ignore_errors=True)


def publish_file(building: str, final: str) -> None:
    """Move a finished file into place; an existing file with the same key is as good."""
    os.makedirs(os.path.dirname(final), exist_ok=True)
    os.replace(building, final)


def read_record(path: str) -> object | None:
    """The JSON value a `write_record` left at `path`; None when there is none readable."""
    try:
        with open(path, encoding="utf-8") as handle:
            value: object = json.load(handle)
    except (OSError, ValueError):
        return None
    return value


def write_record(path: str, value: object) -> None:
    """Keep `value` as JSON at `path`, whole or not at all; a cache that cannot be
    written only costs the next run the work again."""
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write_text(Path(path), json.dumps(value, sort_keys=True))


def tree_entry(
    parent: str | None,
    key: str,
    build: Callable[[str], None],
    *,
    scratch: str,
    note: Callable[[str], None],
    what: str,
) -> TreeEntry:
    """The directory entry `parent/key`, checked against its manifest; built on a miss.

    `build(target)` lays the files out in a fresh directory; the manifest is written
    after it. A damaged entry is noted (`what` names it), removed and built again. With
    no `parent` (no writable cache) the entry is built in `scratch`, which must not exist.
    """
    final = os.path.join(parent, key) if parent else None
    if final is not None and os.path.exists(final):
        found, damage = checked_tree(final)
        if found is not None:
            return found
        note(f"the cached {what} {final} is damaged ({damage}): preparing it again")
        discard(final)
    building = new_entry_dir(parent) if parent else None
    target = building or scratch
    try:
        os.makedirs(target, exist_ok=True)
        build(target)
        digests = _write_manifest(target)
        if building is None or final is None:
            return TreeEntry(target, digests, cached=False)
        published = publish(building, final)
    except BaseException:
        if building is not None:
            shutil.rmtree(building, ignore_errors=True)
        raise
    return _read_tree(published) or TreeEntry(published, digests, cached=True)


def lay_out_entry(
    parent: str | None,
    key: str,
    build: Callable[[str], None],
    target: str,
    *,
    note: Callable[[str], None],
    what: str,
) -> None:
    """The files of the entry `parent/key` (see tree_entry) at `target`, which must not
    exist (see place_tree)."""
    entry = tree_entry(parent, key, build, scratch=target + ".building", note=note, what=what)
    place_tree(entry, target)


def place_tree(entry: TreeEntry, target: str) -> None:
    """Lay `entry`'s files out at `target`: hard links to a cached entry's (nothing may
    write to them), or the entry itself, renamed, when it was built for this run alone."""
    if entry.cached:
        link_tree(entry.root, target, skip=_manifest_file)
    else:
        os.remove(os.path.join(entry.root, MANIFEST))
        os.rename(entry.root, target)


def checked_tree(path: str) -> tuple[TreeEntry | None, str]:
    """The entry at `path` when every file is there with the SHA-256 its manifest records
    and nothing else is; else (None, what is wrong).

    A file whose device, inode, size and mtime are still those the manifest recorded, its
    mtime older than the manifest's, is taken as unchanged: writing to it, or replacing
    it, changes them (a file as new as the manifest may have been written again within
    the clock's granularity). Any other is read and hashed, and when every hash matches,
    the manifest records the files' marks anew (an entry copied or restored from a backup
    is hashed once, not on every use). Damage below the file system (a failing disk) is
    found only in files that are hashed."""
    found = _read_manifest(path)
    if found is None:
        return None, f"no readable {MANIFEST}"
    entry, marks, written = found
    present = _relative_files(path)
    for name in sorted(set(present) ^ set(entry.digests)):
        return None, f"{name} is {'missing' if name in entry.digests else 'not in its manifest'}"
    now = {name: _mark(file) for name, file in present.items()}
    hashed = [name for name, mark in now.items() if mark != marks.get(name) or mark[3] >= written]
    for name in sorted(hashed):
        if sha256_file(present[name]) != entry.digests[name]:
            return None, f"{name} does not match its manifest"
    if hashed:
        with contextlib.suppress(OSError):  # an entry that cannot be written stays as it is
            _save_manifest(path, dict(entry.digests), now)
    return entry, ""


def _mark(path: str) -> list[int]:
    """What changes when a file is written to or replaced: device, inode, size, mtime."""
    info = os.stat(path)
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]


def _read_tree(path: str) -> TreeEntry | None:
    found = _read_manifest(path)
    return found[0] if found is not None else None


def _read_manifest(path: str) -> tuple[TreeEntry, dict[str, object], int] | None:
    """The entry, the marks its manifest records (none in an older manifest) and when the
    manifest was written (its mtime, in ns)."""
    try:
        with open(os.path.join(path, MANIFEST), encoding="utf-8") as handle:
            written = os.fstat(handle.fileno()).st_mtime_ns
            manifest = json.load(handle)
        digests = manifest["files"]
        marks = manifest.get("marks", {})
        entry = TreeEntry(path, {str(k): str(v) for k, v in digests.items()}, cached=True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return entry, marks if isinstance(marks, dict) else {}, written


def _write_manifest(root: str) -> dict[str, str]:
    files = _relative_files(root)
    marks = {name: _mark(path) for name, path in files.items()}  # before reading: see above
    digests = {name: sha256_file(path) for name, path in files.items()}
    _save_manifest(root, digests, marks)
    return digests


def _save_manifest(root: str, digests: dict[str, str], marks: dict[str, list[int]]) -> None:
    document = json.dumps({"files": digests, "marks": marks}, indent=0, sort_keys=True)
    atomic_write_text(Path(root, MANIFEST), document)


def _relative_files(root: str) -> dict[str, str]:
    """The entry's files (its manifest left out) by POSIX path relative to `root`."""
    start = len(os.path.join(root, ""))
    return {path[start:].replace(os.sep, "/"): path for path in _tree_files(root)}


def _manifest_file(relative: str) -> bool:
    """Whether `relative` (to an entry's root) is its manifest, or one being rewritten."""
    return relative == MANIFEST or relative.startswith(f".{MANIFEST}.")


def _tree_files(root: str) -> list[str]:
    """The entry's files: not its manifest, nor a manifest being rewritten beside it."""
    start = len(os.path.join(root, ""))
    return files_under(root, lambda path: not _manifest_file(path[start:]))
