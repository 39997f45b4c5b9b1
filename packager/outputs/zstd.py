"""Reproducible .tar.zst archives, written as a sequence of zstd frames.

A zstd stream may hold many frames; a decompressor (`zstd -d`, `tar --zstd`) outputs
their contents one after the other. So the content of a large file the caller already
knows by its SHA-256 (libpython, lib-dynload, the larger stdlib modules, all from the
prepared runtime) is stored as a frame of its own, compressed once at FRAME_LEVEL and kept in the
cache under `zstd/`; everything else (tar headers, padding, the binary, small files) is
compressed on each run at STREAM_LEVEL, one frame per stretch between known files.

Which bytes go into which frame depends only on the entries and the digests given, never
on what the cache holds, so a run with a cold cache and one with a warm cache write the
same bytes. zstd runs with -T1: its output does not depend on the number of worker
threads (checked: -T1, -T2 and -T0 give the same frame for libpython at level 19), and a
frame here is smaller than one worker's job, so more threads would not be faster; files
are compressed in parallel instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from packager.core import cache, runner
from packager.outputs.archives import Entry, FileData, TarPart, copy_file_data, tar_parts

STREAM_LEVEL = 12
FRAME_LEVEL = 19  # paid once per file and zstd version, for every later bundle
FRAME_MIN_SIZE = 16 * 1024  # smaller files compress better inside the stream

_ZSTD_FIX = "install zstd (Debian: apt-get install zstd)"
_FLAGS = ("-q", "-f", "-T1", "--no-progress")


def framed_files(digests: Mapping[str, str]) -> dict[str, str]:
    """The files of `digests` (path -> SHA-256) that get frames of their own: the large ones."""
    return {path: digest for path, digest in digests.items() if _size(path) >= FRAME_MIN_SIZE}


def write_tar_zst(
    entries: Iterable[Entry],
    path: str,
    mtime: int,
    *,
    environ: Mapping[str, str],
    frames: Mapping[str, str] | None = None,
    cache_dir: str | None = None,
    echo: runner.Echo | None = None,
) -> None:
    """Write the tar of `entries` to `path`, zstd-compressed.

    `frames` maps source paths of entries to their SHA-256: each such file becomes its
    own frame, taken from (or added to) `cache_dir` when given.
    """
    zstd = runner.require("zstd", environ, fix=_ZSTD_FIX)
    work = tempfile.mkdtemp(prefix=".zstd-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        pieces, stretches, missing = _split(tar_parts(entries, mtime), frames or {}, work)
        store = _frame_store(zstd, cache_dir)
        if stretches:
            argv = [zstd, *_FLAGS, f"-{STREAM_LEVEL}", *stretches]
            runner.run(argv, environ=environ, echo=echo)
        located = _frames(zstd, missing, store, work, environ, echo)
        with open(path, "wb") as out:
            for piece in pieces:
                with open(located.get(piece, piece), "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _split(
    parts: Iterable[TarPart], frames: Mapping[str, str], work: str
) -> tuple[list[str], list[str], dict[str, str]]:
    """Write the stretches between known files to `work`.

    Returns the pieces in order (compressed stretch paths, or digests of known files),
    the stretch files to compress, and {digest: source path} of the known files.
    """
    pieces: list[str] = []
    stretches: list[str] = []
    known: dict[str, str] = {}
    handle = None
    try:
        for part in parts:
            if isinstance(part, FileData) and part.path in frames:
                if handle is not None:
                    handle.close()
                    handle = None
                digest = frames[part.path]
                known.setdefault(digest, part.path)
                pieces.append(digest)
                continue
            if handle is None:
                stretch = os.path.join(work, f"stretch-{len(stretches):05d}")
                stretches.append(stretch)
                pieces.append(stretch + ".zst")
                handle = open(stretch, "wb")  # noqa: SIM115 -- closed at each known file
            if isinstance(part, FileData):
                copy_file_data(part, handle)
            else:
                handle.write(part)
    finally:
        if handle is not None:
            handle.close()
    return pieces, stretches, known


def _frame_store(zstd: str, cache_dir: str | None) -> str | None:
    """The cache directory for frames of this zstd program at FRAME_LEVEL."""
    if cache_dir is None:
        return None
    key = cache.cache_key({"zstd": cache.file_identity(zstd), "level": FRAME_LEVEL})
    return os.path.join(cache_dir, "zstd", key)


def _frames(
    zstd: str,
    known: Mapping[str, str],
    store: str | None,
    work: str,
    environ: Mapping[str, str],
    echo: runner.Echo | None,
) -> dict[str, str]:
    """{digest: frame file} for every known file, compressing the ones not in `store`."""
    located: dict[str, str] = {}
    todo: list[tuple[str, str]] = []
    for digest, source in sorted(known.items()):
        cached = os.path.join(store, f"{digest}.zst") if store else None
        if cached is not None and os.path.isfile(cached):
            located[digest] = cached
        else:
            todo.append((digest, source))

    def compress(item: tuple[str, str]) -> tuple[str, str]:
        digest, source = item
        built = os.path.join(work, f"frame-{digest}.zst")
        argv = [zstd, *_FLAGS, f"-{FRAME_LEVEL}", "-o", built, source]
        runner.run(argv, environ=environ, echo=echo)
        if store is None:
            return digest, built
        final = os.path.join(store, f"{digest}.zst")
        try:
            cache.publish_file(built, final)
        except OSError:
            return digest, built  # an unwritable cache only costs the next run the work
        return digest, final

    # One file per zstd process, as many at a time as there are processors.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        located.update(pool.map(compress, todo))
    return located


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
