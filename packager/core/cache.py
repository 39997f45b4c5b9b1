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
from collections.abc import Mapping

BUILDING_PREFIX = ".building-"  # a cache entry being made, renamed into place when whole


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
