"""The one place packager runs external programs (cargo, pip, linkers, dpkg-deb, bwrap).

Resolves the program on PATH, reports the command through an optional callback (the CLI's
`--verbose`), captures or streams output, and raises ToolError with the output on failure.
A tool run to completion is killed when packager dies, even by SIGKILL (Linux's parent
death signal): none writes on into a staging folder a later run has removed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from packager.core import reaper
from packager.core.errors import ToolError
from packager.core.secrets import child_environ

Echo = Callable[[str], None]
_PR_SET_PDEATHSIG = 1  # prctl's option: the signal a child gets when its parent dies


@dataclass(frozen=True)
class ToolResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def which(program: str, environ: Mapping[str, str]) -> str | None:
    """The absolute path of `program` on the PATH given in `environ`, or None."""
    return shutil.which(program, path=environ.get("PATH", ""))


def require(program: str, environ: Mapping[str, str], *, fix: str) -> str:
    """Like which(), but raise a ToolError naming the program and how to install it."""
    found = which(program, environ)
    if found is None:
        raise ToolError(f"'{program}' was not found on PATH", fix=fix)
    return found


def run(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str],
    cwd: str | None = None,
    check: bool = True,
    echo: Echo | None = None,
    on_line: Echo | None = None,
    timeout: float | None = None,
    stdin_text: str | None = None,
    pass_fds: Sequence[int] = (),
) -> ToolResult:
    """Run `argv` with `environ`, less the signing secrets (core/secrets.py); with `on_line`,
    stream stderr line by line;
    `pass_fds`: descriptors the tool inherits (a secret's pipe), captured runs only."""
    command = tuple(argv)
    if echo is not None:
        echo("+ " + shlex.join(command))
    try:
        if on_line is None:
            result = _capture(command, environ, cwd, timeout, stdin_text, pass_fds)
        else:
            result = _stream(command, environ, cwd, on_line, timeout)
    except FileNotFoundError as exc:
        raise ToolError(f"'{command[0]}' was not found", fix="install it or fix PATH") from exc
    except OSError as exc:  # not executable, a directory, not a program for this machine
        raise ToolError(
            f"cannot run '{command[0]}': {exc.strerror or exc}",
            path=command[0],
            fix="check that it exists and is an executable program",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"'{shlex.join(command)}' did not finish within {timeout} s") from exc
    if check and result.returncode != 0:
        raise ToolError(
            f"'{shlex.join(command)}' failed with exit code {result.returncode}",
            output=result.stdout + result.stderr,
            returncode=result.returncode,
        )
    return result


def _capture(
    command: tuple[str, ...],
    environ: Mapping[str, str],
    cwd: str | None,
    timeout: float | None,
    stdin_text: str | None,
    pass_fds: Sequence[int] = (),
) -> ToolResult:
    """Run to completion capturing both streams; on any interruption kill what it started.

    The child leads a process group of its own, so a timeout, Ctrl-C or SIGTERM kills
    it with everything it spawned (compileall's worker processes, say): none of them
    keeps writing into a directory the caller is about to remove.
    """
    reaper.ready()
    with subprocess.Popen(
        command,
        env=child_environ(environ),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        text=True,
        errors="replace",
        pass_fds=tuple(pass_fds),
        start_new_session=True,
        preexec_fn=_die_with_parent(),
    ) as process:
        reaper.watch(process.pid)
        try:
            stdout, stderr = process.communicate(stdin_text, timeout=timeout)
        except BaseException:
            kill_group(process)
            raise
        finally:
            reaper.forget(process.pid)
    return ToolResult(command, process.returncode, stdout, stderr)


def start(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str],
    output: IO[bytes],
    echo: Echo | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start `argv` in the background, leading a process group of its own, its stdout and
    stderr going to `output`; `stop` ends it with everything it spawned."""
    command = tuple(argv)
    if echo is not None:
        echo("+ " + shlex.join(command) + " &")
    return spawn(command, environ, stdin=subprocess.DEVNULL, stdout=output, pass_fds=pass_fds)


def spawn(
    command: Sequence[str],
    environ: Mapping[str, str],
    *,
    stdin: int | IO[bytes],
    stdout: int | IO[bytes],
    stderr: int | IO[bytes] | None = None,
    cwd: str | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start `command` leading a process group of its own and dying with this process;
    `stderr` None: into `stdout`."""
    reaper.ready()
    try:
        process = subprocess.Popen(
            tuple(command),
            env=child_environ(environ),
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stdout if stderr is None else stderr,
            pass_fds=tuple(pass_fds),
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    except OSError as exc:
        raise ToolError(
            f"cannot run '{command[0]}': {exc.strerror or exc}",
            path=command[0],
            fix="check that it exists and is an executable program",
        ) from exc
    reaper.watch(process.pid)
    return process


def stop(process: subprocess.Popen[bytes], grace: float = 5) -> int:
    """End the process group `start` made: SIGTERM, then SIGKILL after `grace` seconds;
    the leader's exit status."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):  # what the leader left behind, if any
        os.killpg(process.pid, signal.SIGKILL)
    status = process.wait()
    reaper.forget(process.pid)
    return status


def kill_group(process: subprocess.Popen[Any]) -> None:
    """SIGKILL to the process group `process` leads, whatever is left of it; then reap it."""
    with contextlib.suppress(ProcessLookupError):  # the whole group has exited already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    reaper.forget(process.pid)


def _stream(
    command: tuple[str, ...],
    environ: Mapping[str, str],
    cwd: str | None,
    on_line: Echo,
    timeout: float | None,
) -> ToolResult:
    """Stream stderr (where cargo and compilers report progress) while capturing stdout."""
    reaper.ready()
    with subprocess.Popen(
        command,
        env=child_environ(environ),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
        preexec_fn=_die_with_parent(),
    ) as process:
        reaper.watch(process.pid)
        try:
            returncode, stdout, stderr = _read_streams(process, on_line, timeout)
        except BaseException:  # Ctrl-C reaches packager alone: end the tool's group here
            kill_group(process)
            raise
        finally:
            reaper.forget(process.pid)
    return ToolResult(command, returncode, stdout, stderr)


def _read_streams(
    process: subprocess.Popen[str], on_line: Echo, timeout: float | None
) -> tuple[int, str, str]:
    """The exit status, stdout and stderr of `process`, each stderr line given to
    `on_line` as it comes."""
    assert process.stdout is not None and process.stderr is not None
    stdout_chunks: list[str] = []
    stdout = process.stdout
    # Reading stdout on a thread keeps a full stdout pipe from stalling the child.
    reader = threading.Thread(target=lambda: stdout_chunks.append(stdout.read()))
    reader.start()
    stderr_lines: list[str] = []
    for line in process.stderr:
        stderr_lines.append(line)
        on_line(line.rstrip("\n"))
    returncode = process.wait(timeout=timeout)
    reader.join()
    return returncode, "".join(stdout_chunks), "".join(stderr_lines)


@functools.cache
def _prctl() -> Callable[[int, int], int] | None:
    """libc's prctl, looked up once in this process (the child only calls it)."""
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux's C library
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_ulong]
    function.restype = ctypes.c_int
    return function


def _die_with_parent() -> Callable[[], None] | None:
    """What a child runs before exec so that it gets SIGKILL when this process dies."""
    prctl, parent = _prctl(), os.getpid()
    if prctl is None:
        return None

    def before_exec() -> None:
        # Runs between fork and exec, maybe beside other threads: it takes no lock,
        # imports nothing and allocates nothing (prctl was looked up in the parent).
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was set
            os._exit(1)

    return before_exec
