"""Watch a program run in the sandbox: feed its standard input, stop it at the timeout,
or once it is ready (`verify --expect-port`, `--expect-output`).

A program still running at the timeout is no failure of bwrap: its process group is
killed (bwrap runs with --die-with-parent, so the sandbox goes with it) and the run fails
with what the program printed until then.

A server is watched from inside the sandbox, which has a network namespace of its own
(--unshare-all) whose loopback this machine cannot reach. Its command runs under a short
sh script (WATCH_SCRIPT) that starts it in the background and every 0.1 s reads
/proc/net/tcp and /proc/net/tcp6 for a socket in state LISTEN (0A) on the port, with
nothing but shell built-ins and `sleep`, which even a minimal Debian root has. Once one
listens, the script writes `listening` into a control folder (a directory of this machine
bound into the sandbox) and stops the program: SIGTERM to its process group, SIGKILL 5 s
later. With --expect-output the output is matched here, line by line as it arrives; a
match puts `stop` into the control folder, which the script polls for, and it stops the
program the same way. A program that exits first leaves the script with its status.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import shlex
import stat
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from packager.core import runner
from packager.core.errors import UsageError
from packager.verify.model import BY_EXIT_STATUS, Check, Expectation, Outcome

_POLL_SECONDS = 0.1
_STOP_GRACE = 10.0  # seconds the script has to stop the program (it sends SIGKILL at 5)
_LISTENING = "listening"  # the file the script writes once the port listens
_STOP = "stop"  # the file this side writes to have the program stopped

# sh: whether a table of sockets ($2 ...: /proc/net/tcp and tcp6) lists one in state
# LISTEN (0A) whose local port is $1, written as the table writes it (port_hex).
LISTENS = r"""listens() {
  hex=$1
  shift
  for table in "$@"; do
    [ -r "$table" ] || continue
    while read -r _ local _ state _; do
      [ "$state" = 0A ] && [ "${local##*:}" = "$hex" ] && return 0
    done < "$table"
  done
  return 1
}
"""

# sh -c WATCH_SCRIPT sh CONTROL PORT COMMAND...: PORT in hex, or empty (--expect-output).
# A background command reads /dev/null unless told otherwise: stdin goes by fd 3. This
# shell ignores SIGTERM only after the command started, so that `kill -TERM 0` (the
# process group: the program and all it started) leaves just the shell running.
WATCH_SCRIPT = (
    LISTENS
    + r"""stop() {
  kill -TERM 0 2>/dev/null
  tries=0
  while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 50 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  kill -KILL "$pid" 2>/dev/null
}
control=$1 port=$2
shift 2
exec 3<&0
"$@" <&3 3<&- &
pid=$!
exec 3<&-
trap '' TERM
while :; do
  if [ -n "$port" ] && listens "$port" /proc/net/tcp /proc/net/tcp6; then
    : > "$control/listening"
    stop
    exit 0
  fi
  if [ -e "$control/stop" ]; then
    stop
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    exit
  fi
  sleep 0.1
done
"""
)


@dataclass(frozen=True)
class Watched:
    """How a watched program ended, and what it printed."""

    returncode: int
    stdout: str
    stderr: str
    outcome: Outcome


def expectation_of(port: int | None, pattern: str | None) -> Expectation:
    """What --expect-port PORT or --expect-output PATTERN (at most one) ask a run for."""
    if port is not None and pattern is not None:
        raise UsageError(
            "--expect-port and --expect-output both say when the program is ready: give one"
        )
    if port is not None:
        if not 1 <= port <= 65535:
            raise UsageError(
                f"--expect-port {port} is not a TCP port", fix="give a number from 1 to 65535"
            )
        return Expectation(Check.PORT, port=port)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(
                f"--expect-output {pattern!r} is not a regular expression: {exc}",
                fix="write it in Python's re syntax, e.g. 'listening on [0-9]+'",
            ) from None
        return Expectation(Check.OUTPUT, pattern=pattern)
    return BY_EXIT_STATUS


def require_sandbox(expectation: Expectation, subject: str) -> None:
    """Refuse --expect-port and --expect-output for `subject`, a Windows bundle or
    installer: wine runs it outside any sandbox, in this machine's network."""
    if expectation.check is not Check.EXIT_STATUS:
        option = "--expect-port" if expectation.check is Check.PORT else "--expect-output"
        raise UsageError(
            f"{option} verifies a Linux bundle only, watched inside its sandbox: a Windows "
            "program runs under wine, in this machine's network",
            path=subject,
            fix="verify it by its exit status (--stdin feeds it input)",
        )


def standard_input(text: str | None, path: str | None) -> bytes | None:
    """The bytes --stdin TEXT or --stdin-file PATH give the program's standard input;
    None for neither (it then reads /dev/null)."""
    if text is not None and path is not None:
        raise UsageError("--stdin and --stdin-file both give the standard input: give one")
    if text is not None:
        return os.fsencode(text)  # the command line's bytes, as they were given
    if path is None:
        return None
    try:
        # Without blocking: a FIFO opens at once, to be refused below, never read.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise UsageError(f"--stdin-file cannot be read: {exc.strerror}", path=path) from None
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise UsageError(
                "--stdin-file must name a regular file (a FIFO, socket or device is never read)",
                path=path,
                fix="write the input to a file first, or pass it with --stdin TEXT",
            )
        return handle.read()


def port_hex(port: int) -> str:
    """`port` as /proc/net/tcp writes a socket's port: four upper-case hex digits."""
    return f"{port:04X}"


def control_folder(work: str, expectation: Expectation) -> str | None:
    """A new folder under `work` through which the watch script and packager talk; None
    when only the exit status counts (the command then runs as it is)."""
    if expectation.check is Check.EXIT_STATUS:
        return None
    folder = os.path.join(work, "control")
    os.mkdir(folder)
    return folder


def watched_command(
    command: Sequence[str], expectation: Expectation, control: str | None
) -> list[str]:
    """`command` to run in the sandbox: as it is, or under WATCH_SCRIPT with `control`
    (control_folder's) when it is awaited to listen or to print something."""
    if control is None:
        return list(command)
    port = "" if expectation.port is None else port_hex(expectation.port)
    return ["sh", "-c", WATCH_SCRIPT, "sh", control, port, *command]


def run_watched(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str],
    timeout: float,
    expectation: Expectation = BY_EXIT_STATUS,
    control: str | None = None,
    stdin: bytes | None = None,
    cwd: str | None = None,
    echo: runner.Echo | None = None,
) -> Watched:
    """Run `argv` (its command made by watched_command with `control`) with `stdin` as
    its standard input, until it exits, is ready, or `timeout` seconds pass; then kill
    its process group."""
    command = tuple(argv)
    if echo is not None:
        echo("+ " + shlex.join(command))
    with _started(command, environ, cwd, stdin is not None) as process:
        streams = _Streams(process, stdin, expectation.pattern)
        try:
            outcome = _wait(process, streams, time.monotonic() + timeout, control)
        finally:
            runner.kill_group(process)  # all it started, whether it exited or not
            streams.join()
    if control is not None and os.path.exists(os.path.join(control, _LISTENING)):
        outcome = Outcome.READY
    return Watched(process.returncode, streams.text(0), streams.text(1), outcome)


def _started(
    command: tuple[str, ...], environ: Mapping[str, str], cwd: str | None, feed: bool
) -> subprocess.Popen[bytes]:
    """`command` started leading a process group of its own, dying with packager."""
    stdin = subprocess.PIPE if feed else subprocess.DEVNULL
    pipe = subprocess.PIPE
    return runner.spawn(command, environ, stdin=stdin, stdout=pipe, stderr=pipe, cwd=cwd)


def _wait(
    process: subprocess.Popen[bytes], streams: _Streams, deadline: float, control: str | None
) -> Outcome:
    """Wait until the program exits, its output matches (it is then stopped) or the
    deadline passes."""
    while True:
        if streams.matched.wait(_POLL_SECONDS):
            if control is not None:
                with open(os.path.join(control, _STOP), "wb"):
                    pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_STOP_GRACE)
            return Outcome.READY
        if process.poll() is not None:
            streams.join()  # its last lines may still match
            return Outcome.READY if streams.matched.is_set() else Outcome.EXITED
        if time.monotonic() >= deadline:
            return Outcome.TIMED_OUT


class _Streams:
    """The program's stdout and stderr, read on threads as they arrive (each line
    searched for `pattern`), and its stdin, written on another."""

    def __init__(
        self, process: subprocess.Popen[bytes], stdin: bytes | None, pattern: str | None
    ) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.matched = threading.Event()
        self._pattern = None if pattern is None else re.compile(pattern)
        self._chunks: tuple[list[bytes], list[bytes]] = ([], [])
        self._threads = [
            threading.Thread(target=self._read, args=(pipe, chunks), daemon=True)
            for pipe, chunks in zip((process.stdout, process.stderr), self._chunks, strict=True)
        ]
        if stdin is not None:
            assert process.stdin is not None
            self._threads.append(
                threading.Thread(target=_feed, args=(process.stdin, stdin), daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        """Wait for the end of both streams (for long only if something outside the
        program holds them open)."""
        for thread in self._threads:
            thread.join(_STOP_GRACE)

    def text(self, stream: int) -> str:
        """What the program wrote so far to stdout (0) or stderr (1)."""
        return b"".join(self._chunks[stream]).decode("utf-8", errors="replace")

    def _read(self, pipe: IO[bytes], chunks: list[bytes]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        unfinished = ""
        with contextlib.suppress(OSError, ValueError):  # closed under it: the run is over
            while chunk := os.read(pipe.fileno(), 65536):
                chunks.append(chunk)
                if self._pattern is not None and not self.matched.is_set():
                    unfinished = self._search(unfinished + decoder.decode(chunk))

    def _search(self, text: str) -> str:
        """Search each line of `text` (the last maybe unfinished); the unfinished one."""
        assert self._pattern is not None
        *finished, unfinished = text.replace("\r", "\n").split("\n")
        if any(self._pattern.search(line) for line in [*finished, unfinished]):
            self.matched.set()
        return unfinished


def _feed(pipe: IO[bytes], data: bytes) -> None:
    """Write `data` to the program's standard input, then close it (end of input); a
    program that exits before reading it all ends the writing."""
    with contextlib.suppress(OSError):
        pipe.write(data)
    with contextlib.suppress(OSError):
        pipe.close()
