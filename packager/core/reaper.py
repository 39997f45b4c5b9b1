"""End what packager's tools started when packager itself is killed.

The parent death signal (runner) ends each tool packager starts, but not what that tool
started in turn: dpkg-deb's compressor, cargo's rustc, a sandbox's program. Those stay
in the tool's process group, which the runner makes a group of its own. So the runner
tells a watchdog about each group: a small Python process, started once per packager
process, that reads the groups on a pipe. Once the pipe closes (packager ended, however
it ended) the watchdog kills every group still listed. A group is struck off the list
as soon as packager has waited for its tool and killed what was left of it.

A process group's number is not reused while any process of it lives, and the list is
kept current, so the watchdog never signals a group that is not one of packager's.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from typing import IO

from packager.core.secrets import child_environ

# The watchdog: "+N" lists group N, "-N" strikes it off; at end of input, kill the rest.
_WATCHDOG = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    sign, number = line[:1], line[1:].strip()
    if number.isdigit():
        (groups.add if sign == "+" else groups.discard)(int(number))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""

_lock = threading.Lock()
_pipe: IO[str] | None = None
_owner = 0  # the process that started the watchdog (a forked worker has none of its own)


def ready() -> None:
    """Start the watchdog now, before a tool starts: once the tool runs, telling the
    watchdog about its group takes one write, not a Python start-up."""
    with _lock:
        _ensure_started()


def watch(group: int) -> None:
    """List process group `group` with the watchdog (started on first use)."""
    _send(f"+{group}\n")


def forget(group: int) -> None:
    """Strike process group `group` off: its tool has ended and been reaped."""
    _send(f"-{group}\n")


def _send(line: str) -> None:
    with _lock:
        _ensure_started()
        if _pipe is None:
            return
        with contextlib.suppress(OSError, ValueError):  # the watchdog is gone: nothing to tell
            _pipe.write(line)
            _pipe.flush()


def _ensure_started() -> None:
    """Start this process's watchdog unless it runs (hold _lock)."""
    global _pipe, _owner
    if _pipe is None or _owner != os.getpid():
        _pipe, _owner = _start(), os.getpid()


def _start() -> IO[str] | None:
    """The watchdog's input; None where it cannot start (tools then end as before)."""
    try:
        watchdog = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG],
            env=child_environ(os.environ),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to packager's group must not end it first
            text=True,
        )
    except OSError:
        return None
    return watchdog.stdin
