"""`packager inspect --sbom` on input it cannot read: a clear error and exit 2, never a
traceback, never a wait on a FIFO, never exit 3 (inspect runs no tool of its own)."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

from tests.helpers import run_packager


def _inspect(path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environ}
    env.pop("PYTHONUNBUFFERED", None)
    return run_packager("inspect", "--sbom", str(path), environ=env, timeout=60)


def _outcome(done: subprocess.CompletedProcess[str], expected: str) -> tuple[int, bool, bool]:
    return done.returncode, expected in done.stderr, "Traceback" in done.stderr


def test_a_damaged_tar_gz_is_an_unreadable_archive(tmp_path: Path) -> None:
    archive = tmp_path / "hello.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 40)
    done = _inspect(archive)
    assert _outcome(done, "not a readable archive") == (2, True, False), done.stderr


def test_a_fifo_named_like_an_sbom_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "hello.tar.zst.cdx.json"
    os.mkfifo(fifo)
    done = _inspect(fifo)
    assert _outcome(done, "a FIFO, socket or device is never read") == (2, True, False)


def test_a_tar_zst_without_zstd_on_path_names_it(tmp_path: Path) -> None:
    archive = tmp_path / "hello.tar.zst"
    archive.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 16)
    empty = tmp_path / "bin"
    empty.mkdir()
    done = _inspect(archive, PATH=str(empty))
    assert _outcome(done, "needs 'zstd'") == (2, True, False), done.stderr


def test_a_tar_zst_that_is_no_zstd_stream_is_an_unreadable_archive(tmp_path: Path) -> None:
    archive = tmp_path / "hello.tar.zst"
    archive.write_bytes(b"not zstd at all")
    done = _inspect(archive)
    assert _outcome(done, "not a readable archive") == (2, True, False), done.stderr


def test_a_tar_gz_without_an_sbom_says_so(tmp_path: Path) -> None:
    archive = tmp_path / "hello.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("hello/hello")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"#!\n"))
    done = _inspect(archive)
    assert _outcome(done, "the archive holds no sbom.cdx.json") == (2, True, False), done.stderr
