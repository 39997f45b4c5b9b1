"""What `packager verify` is given is unpacked within limits: a small .tar.zst or .deb
that inflates to a gigabyte is refused before it fills the disk, and a folder holding a
FIFO is refused unread, each with a clear error (exit 2)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.helpers import run_packager

pytestmark = pytest.mark.integration

GIB = 1 << 30
LAUNCHER = b"#!/bin/sh\necho hi\n"


class _Zeros(io.RawIOBase):
    """`size` zero bytes, read without holding them."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian: apt-get install {name})")
    return found


def _add(archive: tarfile.TarFile, name: str, data: io.RawIOBase | bytes, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o755
    archive.addfile(info, io.BufferedReader(data) if isinstance(data, io.RawIOBase) else
                    io.BytesIO(data))  # fmt: skip


def _refusal(subject: Path) -> tuple[int, str]:
    done = run_packager("verify", str(subject), timeout=600)
    return done.returncode, done.stderr.splitlines()[0] if done.stderr else done.stdout


def test_a_tar_zst_that_inflates_to_a_gigabyte_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.tar.zst"
    with subprocess.Popen(
        [_tool("zstd"), "-q", "-1", "-o", str(bomb)], stdin=subprocess.PIPE
    ) as zstd:
        assert zstd.stdin is not None
        with tarfile.open(fileobj=zstd.stdin, mode="w|") as archive:
            _add(archive, "bomb/bomb", LAUNCHER, len(LAUNCHER))
            _add(archive, "bomb/zeros", _Zeros(GIB), GIB)
        zstd.stdin.close()
    assert bomb.stat().st_size < 1 << 20
    assert _refusal(bomb) == (
        2,
        f"packager: error: {bomb}: refusing to extract: its members unpack to far more than "
        "the archive holds",
    )


def test_a_deb_that_inflates_to_a_gigabyte_is_refused(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: bomb\nVersion: 1.0\nArchitecture: amd64\nMaintainer: A <a@example.org>\n"
        "Description: a bomb\n"
    )
    (tree / "opt" / "bomb").mkdir(parents=True)
    (tree / "opt" / "bomb" / "bomb").write_bytes(LAUNCHER)
    with open(tree / "opt" / "bomb" / "zeros", "wb") as zeros:
        zeros.truncate(GIB)  # sparse: no gigabyte is written here
    bomb = tmp_path / "bomb.deb"
    subprocess.run(
        [_tool("dpkg-deb"), "--root-owner-group", "-Zzstd", "-z1", "-b", str(tree), str(bomb)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert bomb.stat().st_size < 1 << 20
    assert _refusal(bomb) == (
        2,
        f"packager: error: {bomb}: refusing to extract: its members unpack to far more than "
        "the archive holds",
    )


def test_a_folder_holding_a_fifo_is_refused_unread(tmp_path: Path) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "app").write_bytes(LAUNCHER)
    (folder / "app").chmod(0o755)
    os.mkfifo(folder / "pipe")
    assert _refusal(folder) == (
        2,
        f"packager: error: {folder / 'pipe'}: the bundle holds something that is not a file, "
        "folder or link (a FIFO, socket or device is never read)",
    )
