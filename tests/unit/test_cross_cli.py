"""`build`, `config` and `bundle` with --target refuse what they cannot do, before any tool runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import SAMPLES, run_packager

WINDOWS = "x86_64-pc-windows-gnu"
AARCH64 = "aarch64-unknown-linux-gnu"


def _packager(*args: str) -> subprocess.CompletedProcess[str]:
    return run_packager(*args, timeout=120)


def test_build_for_windows_refuses_a_release_with_no_embeddable_python() -> None:
    completed = _packager("build", str(SAMPLES / "hello"), "--target", WINDOWS, "--python", "3.7")
    assert completed.returncode == 2, completed.stderr
    assert "no embeddable Windows CPython 3.7 is known" in completed.stderr
    assert "--python-home DIR" in completed.stderr


def test_build_for_a_target_refuses_a_host_python() -> None:
    completed = _packager(
        "build", str(SAMPLES / "hello"), "--target", WINDOWS, "--python", "/usr/bin/python3"
    )
    assert completed.returncode == 2
    assert "not an interpreter of this host: /usr/bin/python3" in completed.stderr


def test_build_for_a_linux_target_refuses_a_host_python() -> None:
    completed = _packager(
        "build", str(SAMPLES / "hello"), "--target", AARCH64, "--python", "/usr/bin/python3"
    )
    assert completed.returncode == 2
    assert "--python names an interpreter of this machine" in completed.stderr


def test_unknown_target_is_refused_with_the_known_ones() -> None:
    completed = _packager("config", "--target", "mips-unknown-linux-gnu", "--python-home", "/")
    assert completed.returncode == 2
    assert f"use one of {AARCH64}, {WINDOWS}" in completed.stderr


def test_windows_build_is_never_static(tmp_path: object) -> None:
    completed = _packager(
        "config", "--target", WINDOWS, "--python-home", "/nonexistent", "--mode", "static"
    )
    assert completed.returncode == 2
    assert "drop --mode static" in completed.stderr


def test_bundling_for_aarch64_without_a_target_root_is_refused_in_one_line(tmp_path: Path) -> None:
    # --out: the default ./dist may hold a bundle of hello already (samples/demo.sh's).
    completed = _packager(
        "bundle", str(SAMPLES / "hello"), "--target", AARCH64, "--python-home", "/",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert "expected the sysconfigdata of one CPython for aarch64-linux-gnu" in completed.stderr
    assert "fix: pass the target's root file system with --python-home" in completed.stderr


def test_target_is_for_crates_not_built_binaries(tmp_path: Path) -> None:
    completed = _packager(
        "bundle", "/bin/true", "--target", WINDOWS, "--python-home", "/", "--out", str(tmp_path)
    )
    assert completed.returncode == 2
    assert "--target chooses what a crate is built for" in completed.stderr
