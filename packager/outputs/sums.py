"""OUT/SHA256SUMS: one checksum file that every run into an output directory shares.

Several apps, several formats of one app and several targets can write into one output
directory, each adding its lines: `merge_sums` replaces the lines of the files a run
wrote and keeps every other line. The merge holds an exclusive lock (flock on
OUT/.SHA256SUMS.lock, removed again while held), so concurrent runs lose no line, and
the new file replaces the old by rename, so a reader sees one or the other, never half.

A signing run re-makes the detached signature OUT/SHA256SUMS.asc while it still holds the
lock, so the signature always matches the file; a run that does not sign removes a
signature it would leave stale (and says so), so an .asc beside SHA256SUMS is never old.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from packager.core.fsutil import atomic_write_text

SUMS_NAME = "SHA256SUMS"
SIGNATURE_NAME = f"{SUMS_NAME}.asc"
LOCK_NAME = f".{SUMS_NAME}.lock"
_HEX = frozenset("0123456789abcdef")


def sums_text(digests: Mapping[str, str]) -> str:
    """SHA256SUMS text (`sha256sum -c` format) for {name: SHA-256 in hex}, sorted by name."""
    return "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))


def merge_sums(
    out_dir: str,
    digests: Mapping[str, str],
    *,
    sign: Callable[[str], object] | None = None,
    note: Callable[[str], None] | None = None,
) -> str:
    """Put `digests` ({name relative to `out_dir`: SHA-256}) into OUT/SHA256SUMS: a line
    of another name is kept, one of these names replaced; the file's path. `sign(path)`
    writes SHA256SUMS.asc under the lock; without it an old signature is removed (`note`)."""
    path = os.path.join(out_dir, SUMS_NAME)
    signature = os.path.join(out_dir, SIGNATURE_NAME)
    with locked(os.path.join(out_dir, LOCK_NAME)):
        try:
            with open(path, encoding="utf-8", newline="\n") as handle:
                old = handle.read()
        except FileNotFoundError:
            old = ""
        atomic_write_text(Path(path), merged_text(old, digests))
        try:
            if sign is not None:
                sign(path)
                return path
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(signature)  # it signs the old file: none is better than a stale one
            raise
        if os.path.lexists(signature):
            os.unlink(signature)
            if note is not None:
                note(
                    f"removed {signature}: it signed the SHA256SUMS this run changed, and "
                    "this run does not sign (pass --gpg-key to sign it again)"
                )
    return path


def merged_text(old: str, digests: Mapping[str, str]) -> str:
    """`old` SHA256SUMS text with the lines of `digests`' names replaced by theirs; lines
    not in the file's format (a comment, a damaged line) stay first, as they were."""
    entries: dict[str, str] = {}
    other: list[str] = []
    for line in old.splitlines():
        name = _name_of(line)
        if name is None:
            other.append(f"{line}\n")
        else:
            entries[name] = f"{line}\n"
    entries.update({name: f"{digest}  {name}\n" for name, digest in digests.items()})
    return "".join(other) + "".join(entries[name] for name in sorted(entries))


def _name_of(line: str) -> str | None:
    """The file a `sha256sum` line names ("HEX  NAME" or "HEX *NAME"), None for others."""
    digest, name = line[:64], line[66:]
    if len(digest) != 64 or not set(digest.lower()) <= _HEX or not name:
        return None
    return name if line[64:66] in ("  ", " *") else None


@contextmanager
def locked(lock_path: str) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (created), and remove it before letting go.

    A waiter may wake holding a lock on a file already removed, or replaced by a newer
    one: it locks again until the file it holds is the one at `lock_path`."""
    while True:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            if os.path.samestat(os.fstat(descriptor), os.stat(lock_path)):
                break
        except FileNotFoundError:
            pass  # removed by the holder we waited for: lock the next one
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)
    try:
        yield
    finally:
        try:
            with suppress(FileNotFoundError):
                os.unlink(lock_path)
        finally:
            os.close(descriptor)
