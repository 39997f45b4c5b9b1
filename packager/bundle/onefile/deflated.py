"""Archive members deflated once and kept: a onefile rebuild compresses only what changed.

Deflating at level 9 is most of a onefile build's time and depends on nothing but a
member's bytes and zlib: each result is kept under the cache's `deflated/` directory,
named by the SHA-256 of the bytes, for the zlib version that made it (so a rebuild
writes the same archive as a cold build). A kept stream carries the SHA-256 of itself
at its end; one that does not match is made again. The misses are deflated in threads,
one per core: zlib works outside Python's lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

LEVEL = 9  # only costs build time: zipimport inflates at the same speed
_CHECK = hashlib.sha256().digest_size


class DeflatedStore:
    """Raw deflate streams at LEVEL, kept in `cache_dir` (nothing kept without one)."""

    def __init__(self, cache_dir: str | None) -> None:
        self._root = (
            os.path.join(cache_dir, "deflated", f"zlib-{zlib.ZLIB_RUNTIME_VERSION}-{LEVEL}")
            if cache_dir
            else None
        )

    def deflate_all(self, contents: Mapping[str, bytes]) -> dict[str, bytes]:
        """The raw deflate stream of each of `contents` (name -> bytes), by name."""
        found = {name: self._kept(data) for name, data in contents.items()}
        missing = [name for name, stream in found.items() if stream is None]
        workers = max(1, min(len(missing), os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            made = pool.map(lambda name: _deflate(contents[name]), missing)
            for name, stream in zip(missing, made, strict=True):
                found[name] = stream
                self._keep(contents[name], stream)
        return {name: stream for name, stream in found.items() if stream is not None}

    def _path(self, data: bytes) -> str | None:
        if self._root is None:
            return None
        digest = hashlib.sha256(data).hexdigest()
        return os.path.join(self._root, digest[:2], digest)

    def _kept(self, data: bytes) -> bytes | None:
        path = self._path(data)
        if path is None:
            return None
        try:
            with open(path, "rb") as handle:
                kept = handle.read()
        except OSError:
            return None
        stream, check = kept[:-_CHECK], kept[-_CHECK:]
        if len(kept) <= _CHECK or hashlib.sha256(stream).digest() != check:
            return None  # damaged: made again and replaced
        return stream

    def _keep(self, data: bytes, stream: bytes) -> None:
        """Store `stream` for `data`; a cache that cannot be written is passed over."""
        path = self._path(data)
        if path is None:
            return
        with contextlib.suppress(OSError):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle, building = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".building-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(stream + hashlib.sha256(stream).digest())
                os.replace(building, path)
            except OSError:
                os.unlink(building)
                raise


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data, LEVEL, -zlib.MAX_WBITS)
