"""What every stage of a command shares: the environment, the cache, and where it reports.

A `Context` is made once by the CLI and handed down, so stages take one parameter instead of
an environment, a progress callback and a verbose-echo callback each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from packager.core.runner import Echo

# One line about a long step ("compiling the standard library"); the CLI renders it.
Progress = Callable[[str], None]


def silent(message: str) -> None:
    """A Progress that shows nothing."""
    del message


def cache_root(environ: Mapping[str, str]) -> str | None:
    """The cache directory from XDG_CACHE_HOME or HOME; None when neither is an absolute path."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore a relative value
        home = environ.get("HOME", "")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "packager")


@dataclass(frozen=True)
class Context:
    """The environment a run sees and the callbacks it reports through."""

    environ: Mapping[str, str]
    progress: Progress = silent  # long steps, one line each
    echo: Echo | None = None  # the external commands run (--verbose)
    on_line: Echo | None = None  # a build's output lines as they come
    note: Progress = silent  # remarks the user should read (a build's notes)

    @property
    def cache_dir(self) -> str | None:
        """The per-user cache directory, or None when the environment names no home."""
        return cache_root(self.environ)
