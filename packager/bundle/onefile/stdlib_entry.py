"""The standard library a onefile program carries, trimmed and compiled once per interpreter.

Copying and compiling the stdlib is most of a onefile build's staging, and depends only
on the interpreter, its stdlib files (path, size, mtime) and the trim rules: it is kept
under the cache's `onefile-stdlib/` directory, checked against its manifest on each use,
and each build links its files into the staging tree (see `packager.core.cache`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from packager.bundle import stdlib
from packager.core import cache
from packager.core.context import Context

# Part of every key: bump it when the layout or the way an entry is made changes.
_FORMAT = 2  # 2: manifests record marks (core.cache.checked_tree)


def stage_stdlib(
    target: str,
    *,
    python: str,
    version_dir: str,
    stdlib_dir: str,
    dynload_dir: str,
    rules: Iterable[stdlib.TrimRule],
    ctx: Context,
) -> None:
    """The trimmed stdlib (lib-dynload beneath it) at `target`, each module compiled to
    `mod.pyc` beside its source, as recorded under `version_dir`."""
    rules = tuple(rules)

    def build(root: str) -> None:
        ctx.progress(f"compiling the standard library of {python} (once per interpreter)")
        stdlib.copy_stdlib(stdlib_dir, dynload_dir, root, rules)
        stdlib.compile_tree(python, root, ctx, source_prefix=version_dir, legacy=True)

    key = cache.cache_key(
        {
            "format": _FORMAT,
            "interpreter": cache.file_identity(python),
            "version_dir": version_dir,
            "stdlib": stdlib_dir,
            "dynload": dynload_dir,
            "stdlib_files": stdlib.source_identity(stdlib_dir, dynload_dir),
            "rules": [rule.name for rule in rules],
        }
    )
    folder = os.path.join(ctx.cache_dir, "onefile-stdlib") if ctx.cache_dir else None
    cache.lay_out_entry(folder, key, build, target, note=ctx.note, what="onefile standard library")
