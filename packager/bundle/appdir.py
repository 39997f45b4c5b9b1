"""Check a directory of the user's files (--app-dir) before it is copied into an output.

The copy follows symlinks, so what it would ship is each entry's target. Only regular
files and directories can be shipped: a socket, FIFO or device (as in /proc/self/fd or
/dev), a symlink to nothing or a loop of symlinks would fail the copy half-way, or never
end, so each is refused up front with its path.
"""

from __future__ import annotations

import errno
import os
import stat

from packager.core.errors import UsageError

_KINDS = (
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def check_app_dir(path: str, *, option: str = "--app-dir") -> None:
    """Raise UsageError unless `path` is a readable tree of regular files and directories.

    Symlinks are followed as the copy follows them; a symlink to one of its own parent
    directories is a loop and is refused too.
    """
    top = _stat(path, option, path)
    if not stat.S_ISDIR(top.st_mode):
        raise UsageError(
            f"{option} is not a directory", path=path, fix=f"pass a directory as {option}"
        )
    pending = [(path, frozenset({(top.st_dev, top.st_ino)}))]
    while pending:
        directory, ancestors = pending.pop()
        _require_access(directory, os.R_OK | os.X_OK, option)
        for name in _list(directory, option):
            entry = os.path.join(directory, name)
            status = _stat(entry, option, path)
            if stat.S_ISDIR(status.st_mode):
                key = (status.st_dev, status.st_ino)
                if key in ancestors:
                    raise UsageError(
                        f"{option} holds a symlink to one of its own parent directories, "
                        "which a copy would follow forever",
                        path=entry,
                        fix="remove the symlink, or replace it with the files it should ship",
                    )
                pending.append((entry, ancestors | {key}))
            elif stat.S_ISREG(status.st_mode):
                _require_access(entry, os.R_OK, option)
            else:
                raise UsageError(
                    f"{option} holds {_kind(status.st_mode)}: only regular files and "
                    "directories can be shipped",
                    path=entry,
                    fix=f"remove it, or pass an {option} that holds only files and directories",
                )


def _stat(entry: str, option: str, top: str) -> os.stat_result:
    try:
        return os.stat(entry)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            what = "is a loop of symlinks"
        elif exc.errno == errno.ENOENT and os.path.islink(entry):
            what = f"is a symlink to nothing ({_target(entry)})"
        elif exc.errno == errno.ENOENT:
            what = "does not exist"
        else:
            what = f"cannot be read ({exc.strerror or exc})"
        raise UsageError(
            f"{option} entry {what}" if entry != top else f"{option} {what}",
            path=entry,
            fix="remove it or point it at a real file" if entry != top else "pass a directory",
        ) from exc


def _list(directory: str, option: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError as exc:
        raise UsageError(
            f"cannot list this {option} directory ({exc.strerror or exc})",
            path=directory,
            fix="give the user running packager read access to it",
        ) from exc


def _require_access(path: str, mode: int, option: str) -> None:
    if not os.access(path, mode):
        raise UsageError(
            f"{option} entry is not readable by the user running packager",
            path=path,
            fix=f"make it readable (chmod -R u+rX '{path}')",
        )


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _target(link: str) -> str:
    try:
        return f"-> {os.readlink(link)}"
    except OSError as exc:
        return exc.strerror or "unreadable"
