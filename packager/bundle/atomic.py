"""Atomic output: everything is built in a hidden sibling directory, then renamed into place.

The staging directory sits inside the output directory so the final renames stay on one
file system. It is removed on every exit path (an exception, KeyboardInterrupt, or a
SIGTERM the CLI turns into one), so an interrupted run leaves nothing behind. Each
output appears whole or not at all; an existing output is replaced only with `force`,
by moving it aside first and deleting it after the new one is in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from types import TracebackType

from packager.errors import OutputExistsError, PackagerError

STAGING_PREFIX = ".packager-staging-"


class OutputDirError(PackagerError):
    """The output directory is missing, not a directory, or not writable."""


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
        try:
            self.path = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out_dir)
        except OSError as exc:
            raise OutputDirError(
                f"cannot write to the output directory ({exc.strerror or exc})",
                path=self.out_dir,
                fix="choose a writable --out directory",
            ) from exc
        self._trash = os.path.join(self.path, ".replaced")

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cleanup()

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
