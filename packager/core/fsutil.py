"""Small file-system helpers: atomic writes, writes that leave unchanged files alone, digests."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def errors_name(path: str) -> Iterator[None]:
    """An OSError raised inside without a file name (a write or close through a file
    object: ENOSPC at flush) gets `path`, so the error names the place that failed."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), path) from exc
        raise


def atomic_write_text(target: Path, content: str, *, mode: int = 0o644) -> None:
    """Write `content` to a temporary sibling, then rename it over `target`.

    Readers see the old file or the new one, never a half-written one; an interrupted
    write leaves no temporary file behind.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        # mkstemp creates 0600; generated sources and configs are read by other tools.
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_if_changed(target: Path, content: str) -> bool:
    """Atomically write `content` unless `target` already holds it; True when written.

    Leaving an unchanged file alone keeps its mtime, so cargo's change detection (and
    `cargo:rerun-if-changed`) sees nothing new and a no-op build stays a no-op.
    """
    try:
        if target.read_text(encoding="utf-8") == content:
            return False
    except (OSError, UnicodeDecodeError):
        pass  # absent or unreadable: write it
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, content)
    return True


def tree_size(path: str) -> int:
    """Bytes of all files under `path` (0 when it does not exist)."""
    return sum(
        os.path.getsize(os.path.join(directory, name))
        for directory, _, files in os.walk(path)
        for name in files
    )


def starts_with(path: str, magic: bytes) -> bool:
    """Whether `path` is a regular file (not a link) whose first bytes are `magic`."""
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    with open(path, "rb") as handle:
        return handle.read(len(magic)) == magic


def files_under(root: str, keep: Callable[[str], bool]) -> list[str]:
    """Every file under `root` for which `keep(path)` is true, in a stable order (folders
    and names sorted)."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        found.extend(
            path for path in (os.path.join(directory, name) for name in sorted(files)) if keep(path)
        )
    return found


def link_tree(source: str, target: str, *, skip: Callable[[str], bool] = lambda _: False) -> None:
    """Recreate the files under `source` at `target` as hard links (copies, mode kept,
    where the file system refuses a link); files whose relative path `skip` accepts stay
    out. Nothing may write to the linked files afterwards: they are `source`'s own."""
    for directory, _, names in os.walk(source):
        relative = os.path.relpath(directory, source)
        os.makedirs(os.path.join(target, relative), exist_ok=True)
        for name in names:
            if skip(os.path.normpath(os.path.join(relative, name))):
                continue
            origin = os.path.join(directory, name)
            linked = os.path.join(target, relative, name)
            try:
                os.link(origin, linked)
            except OSError:
                shutil.copy2(origin, linked)


def sha256_file(path: str) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
