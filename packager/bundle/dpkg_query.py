"""dpkg-query's answers about this machine, kept until dpkg's database changes.

Each call reads the database (`-S` every package's file list: a fifth of a second), and
every install, upgrade and removal rewrites `status` or `info/`: an answer is kept in the
cache's `dpkg-query/` folder, named by the question and by the version of those two.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from packager.core import cache, runner
from packager.core.context import cache_root

_ADMIN = "/var/lib/dpkg"


def dpkg_query(arguments: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """What `dpkg-query ARGUMENTS` prints on this machine (from the cache when the
    database is unchanged); None when there is no dpkg-query."""
    tool = runner.which("dpkg-query", environ)
    if tool is None:
        return None
    record = _record(tool, arguments, environ)
    kept = cache.read_record(record) if record else None
    if isinstance(kept, str):
        return kept
    output = runner.run([tool, *arguments], environ=environ, check=False).stdout
    if record:
        cache.write_record(record, output)
    return output


def _record(tool: str, arguments: Sequence[str], environ: Mapping[str, str]) -> str | None:
    root = cache_root(environ)
    try:
        versions = [cache.file_identity(os.path.join(_ADMIN, name)) for name in ("status", "info")]
    except OSError:
        return None
    if root is None:
        return None
    key = cache.cache_key({"tool": tool, "arguments": list(arguments), "database": versions})
    return os.path.join(root, "dpkg-query", f"{key}.json")
