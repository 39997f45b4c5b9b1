"""Atomic output: everything is built in a hidden sibling directory, then renamed into place.

The staging directory sits inside the output directory so the final renames stay on one
file system. It is removed on every exit path (an exception, KeyboardInterrupt, or a
SIGTERM the CLI turns into one), so an interrupted run leaves nothing behind. Each
output appears whole or not at all; an existing output is replaced only with `force`,
by moving it aside first and deleting it after the new one is in place.

A run killed outright (SIGKILL, the OOM killer, a power cut) cannot remove its staging
directory, so each one records its owner: host, boot, pid namespace, pid and the
process's start time (which a later process reusing the pid does not share). Every
run first removes the staging directories of owners that are provably gone, never one
whose owner may still be running. An OSError that means "this file system cannot take
the output" (full, over quota, read-only, denied) becomes a one-line error.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

from packager.core.cache import BUILDING_PREFIX
from packager.core.errors import (
    OutputDirError,
    OutputExistsError,
    OutputWriteError,
    PackagerError,
    ToolError,
    UnreadableInputError,
)

__all__ = ["STAGING_PREFIX", "OutputDirError", "Staging", "check_targets", "remove_stale_staging"]

STAGING_PREFIX = ".packager-staging-"
OWNER_FILE = ".packager-owner"

# errno -> (what happened, how to go on) when the output cannot be written.
_WRITE_FAILURES: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on device", "free space on that file system, or choose "),
    errno.EDQUOT: ("disk quota exceeded", "free space within your quota, or choose "),
    errno.EROFS: ("read-only file system", "choose "),
    errno.EFBIG: ("file too large for the file system", "choose "),
    errno.EACCES: ("permission denied", "make the directory writable, or choose "),
    errno.EPERM: ("operation not permitted", "make the directory writable, or choose "),
}
# errno -> (what happened, how to go on) for a file outside the output directory.
_INPUT_FAILURES: dict[int, tuple[str, str]] = {
    errno.EACCES: ("permission denied", "give the user running packager access to it"),
    errno.EPERM: ("operation not permitted", "give the user running packager access to it"),
    errno.ELOOP: ("too many levels of symbolic links", "replace the symlink loop with real files"),
}
# Failures of the file system written to, whichever file the error names first.
_SPACE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
_ERRNO_TEXT = re.compile(r"\[Errno (\d+)\]")
# The program of a ToolError message: "'/usr/bin/dpkg-deb --build ...' failed ...".
_TOOL = re.compile(r"'(\S+)")


class Staging:
    """A temporary directory inside `out_dir` whose entries are committed by rename."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = os.path.abspath(out_dir)
        if not os.path.isdir(self.out_dir):
            what = "does not exist" if not os.path.lexists(self.out_dir) else "is not a directory"
            raise OutputDirError(
                f"the output directory {what}",
                path=self.out_dir,
                fix=f"create it first (mkdir -p '{self.out_dir}') or choose another --out",
            )
        remove_stale_staging(self.out_dir)
        try:
            self.path = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out_dir)
        except OSError as exc:
            raise OutputDirError(
                f"cannot write to the output directory ({exc.strerror or exc})",
                path=self.out_dir,
                fix="choose a writable --out directory",
            ) from exc
        self._trash = os.path.join(self.path, ".replaced")
        try:
            with open(os.path.join(self.path, OWNER_FILE), "w", encoding="utf-8") as handle:
                handle.write(current_owner().render())
        except OSError as exc:
            self.cleanup()
            explained = self.explain(exc)
            if explained is None:
                raise
            raise explained from exc

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cleanup()
        explained = None
        if isinstance(exc, OSError):
            explained = self.explain(exc)
        elif isinstance(exc, ToolError):
            explained = self._explain_tool(exc)
        if explained is not None:
            raise explained from exc

    def cleanup(self) -> None:
        """Remove the staging directory and everything still in it."""
        shutil.rmtree(self.path, ignore_errors=True)
        # A tool killed a moment ago (runner kills its whole process group) may complete
        # one last mkdir while the first pass runs; a second pass removes it.
        if os.path.lexists(self.path):
            shutil.rmtree(self.path, ignore_errors=True)

    def entry(self, name: str) -> str:
        """The staging path of the output that will be committed as `out_dir/name`."""
        return os.path.join(self.path, name)

    def commit(self, name: str, *, force: bool) -> str:
        """Rename the staged `name` into the output directory; its final path."""
        source = self.entry(name)
        target = os.path.join(self.out_dir, name)
        if os.path.lexists(target):
            if not force:
                check_targets(self.out_dir, [name], force=False)
            os.makedirs(self._trash, exist_ok=True)
            os.rename(target, os.path.join(self._trash, name))
        os.rename(source, target)
        return target

    def explain(self, exc: OSError) -> PackagerError | None:
        """A one-line error for an OSError that a user can act on, or None for the others."""
        number, names = _errno_and_filenames(exc)
        if number is None:
            return None
        written = next((name for name in names if self._is_output(name)), None)
        # A copy that fills the disk names its source first: the destination is the one.
        destination = names[-1] if number in _SPACE_FAILURES and names else None
        failed = written or destination or next(iter(names), None)
        if failed is not None and not self._is_output(failed):
            if number in _INPUT_FAILURES:
                what, fix = _INPUT_FAILURES[number]
                return UnreadableInputError(what, path=failed, fix=fix)
            if number in _WRITE_FAILURES:
                return _elsewhere(number, failed)
            return None
        if number not in _WRITE_FAILURES:
            return None
        what, fix = _WRITE_FAILURES[number]
        shown = f" (while writing {self._final_name(failed)})" if failed else ""
        return OutputWriteError(
            f"{what}{shown}; nothing was written",
            path=self.out_dir,
            fix=f"{fix}another --out directory",
        )

    def _explain_tool(self, exc: ToolError) -> PackagerError | None:
        """A full disk when a tool (strip, dpkg-deb, zstd...) failed saying so: the output
        directory's, or the temporary directory's when that is another, fuller one (the
        tools write their scratch files there and do not say where)."""
        for number in (errno.ENOSPC, errno.EDQUOT):
            if os.strerror(number) in exc.output:
                cached = _cache_entry_file(exc.message)
                if cached is not None:  # strip on a prepared runtime, in the cache
                    return _elsewhere(number, cached)
                what, fix = _WRITE_FAILURES[number]
                tool = _TOOL.match(exc.message)
                who = os.path.basename(tool.group(1)) if tool else "a tool"
                temp = _fuller_temp_dir(self.out_dir)
                if temp is not None:
                    return OutputWriteError(
                        f"{what} in the temporary directory (while {who} wrote into it); "
                        "nothing was written",
                        path=temp,
                        fix="free space there, or set TMPDIR to a directory with room",
                    )
                return OutputWriteError(
                    f"{what} (while {who} wrote into it); nothing was written",
                    path=self.out_dir,
                    fix=f"{fix}another --out directory",
                )
        return None

    def _is_output(self, filename: str) -> bool:
        path = os.path.abspath(filename)
        return path == self.out_dir or path.startswith(self.out_dir + os.sep)

    def _final_name(self, filename: str) -> str:
        """`filename` as the user will know it: relative to out_dir, without the staging part."""
        relative = os.path.relpath(os.path.abspath(filename), self.path)
        if relative.startswith(os.pardir):
            relative = os.path.relpath(os.path.abspath(filename), self.out_dir)
        return relative


def check_targets(out_dir: str, names: Iterable[str], *, force: bool) -> None:
    """Raise OutputExistsError naming the first output that exists, unless `force`."""
    if force:
        return
    for name in names:
        target = os.path.join(out_dir, name)
        if os.path.lexists(target):
            raise OutputExistsError(
                "already exists; refusing to overwrite it",
                path=target,
                fix="pass --force to replace it, or choose another --out directory",
            )


def _elsewhere(number: int, path: str) -> OutputWriteError:
    """A write that failed outside the output directory: in packager's cache (named by
    the entry's folder, not its half-built file) or elsewhere."""
    what, _ = _WRITE_FAILURES[number]
    parts = path.split(os.sep)
    building = next((i for i, part in enumerate(parts) if part.startswith(BUILDING_PREFIX)), None)
    if building is not None:
        return OutputWriteError(
            f"{what} in packager's cache (while writing {os.sep.join(parts[building + 1 :])})",
            path=os.sep.join(parts[:building]),
            fix="free space on that file system, or set XDG_CACHE_HOME to a directory with room",
        )
    return OutputWriteError(
        what,
        path=path,
        fix="packager writes there: free space on that file system or make it writable",
    )


def _cache_entry_file(command: str) -> str | None:
    """The first argument of a failed tool's command line (as ToolError quotes it) that is
    a file of a cache entry being made; None when there is none."""
    for word in command.split():
        path = word.strip("'\"")
        if os.path.isabs(path) and f"{os.sep}{BUILDING_PREFIX}" in path:
            return path
    return None


def _fuller_temp_dir(out_dir: str) -> str | None:
    """The temporary directory when it is on another file system than `out_dir` with less
    room left; None otherwise."""
    temp = tempfile.gettempdir()
    try:
        if os.stat(temp).st_dev == os.stat(out_dir).st_dev:
            return None
        temp_room, out_room = (os.statvfs(p) for p in (temp, out_dir))
    except OSError:
        return None
    free = temp_room.f_bavail * temp_room.f_frsize
    return temp if free < out_room.f_bavail * out_room.f_frsize else None


def _errno_and_filenames(exc: OSError) -> tuple[int | None, list[str]]:
    """The errno and files of `exc`; shutil.copytree's Error carries them only as text."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        for failure in exc.args[0]:
            if isinstance(failure, tuple) and len(failure) == 3:
                found = _ERRNO_TEXT.search(str(failure[2]))
                if found:
                    return int(found.group(1)), [str(failure[0]), str(failure[1])]
        return None, []
    names = [name for name in (exc.filename, exc.filename2) if isinstance(name, str)]
    return exc.errno, names


@dataclass(frozen=True)
class Owner:
    """The process that owns a staging directory, as recorded in its OWNER_FILE."""

    host: str
    boot_id: str  # changes at every boot; "" where the kernel does not say
    pid_namespace: str  # e.g. "pid:[4026531836]"; "" without /proc
    pid: int
    start_time: str  # field 22 of /proc/PID/stat; "" without /proc

    def render(self) -> str:
        """The OWNER_FILE text: one key=value line per field."""
        return "".join(
            f"{key}={value}\n"
            for key, value in (
                ("host", self.host),
                ("boot_id", self.boot_id),
                ("pid_namespace", self.pid_namespace),
                ("pid", self.pid),
                ("start_time", self.start_time),
            )
        )

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner recorded in `text`, or None when it is not a complete record."""
        fields = dict(line.partition("=")[::2] for line in text.splitlines())
        try:
            return cls(
                host=fields["host"],
                boot_id=fields["boot_id"],
                pid_namespace=fields["pid_namespace"],
                pid=int(fields["pid"]),
                start_time=fields["start_time"],
            )
        except (KeyError, ValueError):
            return None


def current_owner() -> Owner:
    """This process, as a staging directory's owner."""
    pid = os.getpid()
    return Owner(
        host=os.uname().nodename,
        boot_id=_read_small("/proc/sys/kernel/random/boot_id").strip(),
        pid_namespace=_readlink("/proc/self/ns/pid"),
        pid=pid,
        start_time=_process_start(pid) or "",
    )


def owner_is_gone(owner: Owner, me: Owner) -> bool:
    """Whether `owner` has certainly exited; False whenever that cannot be known."""
    if owner.host != me.host:
        return False  # another machine or container sharing the directory
    if owner.boot_id and me.boot_id and owner.boot_id != me.boot_id:
        return True  # recorded before the last reboot
    if owner.pid_namespace != me.pid_namespace:
        return False  # its pids are not ours to look up
    start = _process_start(owner.pid)
    if start is None:
        return True
    return bool(owner.start_time and start and start != owner.start_time)


def remove_stale_staging(out_dir: str) -> list[str]:
    """Remove the staging directories in `out_dir` whose owner is gone; their paths.

    Directories without a complete owner record (one being created right now, or made
    by an older packager) and directories of other users are left alone.
    """
    me = current_owner()
    removed: list[str] = []
    try:
        entries = list(os.scandir(out_dir))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(STAGING_PREFIX):
            continue
        try:
            status = entry.stat(follow_symlinks=False)
            if not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        if sys.platform != "win32" and status.st_uid != os.geteuid():
            continue
        owner = Owner.parse(_read_small(os.path.join(entry.path, OWNER_FILE)))
        if owner is not None and owner_is_gone(owner, me):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


def _process_start(pid: int) -> str | None:
    """The start time of process `pid` ("" when unknown), or None when there is none."""
    if not os.path.isdir("/proc/self"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except OSError:
            pass  # it exists but belongs to someone else
        return ""
    stat = _read_small(f"/proc/{pid}/stat")
    if not stat:
        return None
    # "PID (COMM) STATE ...": COMM may hold spaces and parentheses; field 22 is the start.
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields and fields[0] in ("Z", "X"):
        return None  # exited, not yet reaped by its parent
    return fields[19] if len(fields) > 19 else ""


def _read_small(path: str) -> str:
    """The start of a small text file, or "" when it cannot be read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return ""
    try:
        return os.read(descriptor, 4096).decode("utf-8", "replace")
    except OSError:
        return ""
    finally:
        os.close(descriptor)


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
