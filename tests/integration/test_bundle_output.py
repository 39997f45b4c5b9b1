"""Atomic output through the CLI: refusal to overwrite, interruption, unwritable directories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, bundle_binary
from packager.bundle.atomic import STAGING_PREFIX
from packager.errors import OutputExistsError
from tests.helpers import REPO
from tests.integration.bundle_helpers import bundle_environ


def packager(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "packager", *args],
        cwd=cwd or REPO,
        env={**bundle_environ(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_existing_output_is_refused_without_force(hello_binary: Path, tmp_path: Path) -> None:
    (tmp_path / "pkgtest-hello.tar.gz").write_text("a user's file")
    result = packager("bundle", str(hello_binary), "--format", "tar.gz", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "pkgtest-hello.tar.gz: already exists" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "pkgtest-hello.tar.gz").read_text() == "a user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkgtest-hello.tar.gz"]


def test_force_replaces_and_json_reports_the_outputs(hello_binary: Path, tmp_path: Path) -> None:
    (tmp_path / "pkgtest-hello").mkdir()
    (tmp_path / "pkgtest-hello" / "stale").write_text("old")
    result = packager(
        "bundle",
        str(hello_binary),
        "--format",
        "dir,zip",
        "--out",
        str(tmp_path),
        "--force",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1
    formats = [output["format"] for output in document["bundle"]["outputs"]]
    assert formats == ["dir", "zip", None]
    assert not (tmp_path / "pkgtest-hello" / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "SHA256SUMS",
        "pkgtest-hello",
        "pkgtest-hello.zip",
    ]
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True)
    assert sums.returncode == 0


def test_an_exception_mid_way_leaves_nothing(hello_binary: Path, tmp_path: Path) -> None:
    def fail_mid_way(message: str) -> None:
        if message.startswith("copying libpython"):  # the binary is in the staging tree
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bundle_binary(
            str(hello_binary),
            out_dir=str(tmp_path),
            environ=bundle_environ(),
            formats=(BundleFormat.DIR, BundleFormat.TAR_GZ),
            progress=fail_mid_way,
        )
    assert list(tmp_path.iterdir()) == []


def wait_for_compiled_file(top: Path, process: subprocess.Popen[str]) -> None:
    """Return once a .pyc exists under `top`: compileall and its workers are writing."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(name.endswith(".pyc") for _, _, names in os.walk(top) for name in names):
            return
        time.sleep(0.01)
    raise AssertionError(f"no .pyc appeared under {top} (exit code {process.poll()})")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_way_leaves_nothing(
    hello_binary: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    # The cache cannot be created (its parent is a file), so the runtime is prepared
    # inside the staging directory, and the signal arrives while compileall's worker
    # processes write into it: they must be gone before the staging directory is removed.
    (tmp_path / "not-a-dir").write_text("")
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "packager", "bundle", str(hello_binary), "--out", str(out)],
        cwd=REPO,
        env={
            **bundle_environ(),
            "PYTHONPATH": str(REPO),
            "XDG_CACHE_HOME": str(tmp_path / "not-a-dir"),
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_compiled_file(out, process)
    assert any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir())
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert list(out.iterdir()) == []


def test_a_signal_while_the_cache_is_filled_leaves_no_partial_entry(
    hello_binary: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-m", "packager", "bundle", str(hello_binary), "--out", str(out)],
        cwd=REPO,
        env={**bundle_environ(), "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(cache)},
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_compiled_file(cache, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert list(out.iterdir()) == []
    assert list((cache / "packager" / "runtime").iterdir()) == []


def test_missing_output_directory_is_a_clear_error(hello_binary: Path, tmp_path: Path) -> None:
    result = packager("bundle", str(hello_binary), "--out", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "the output directory does not exist" in result.stderr
    assert "mkdir -p" in result.stderr


def test_read_only_output_directory_is_a_clear_error(hello_binary: Path, tmp_path: Path) -> None:
    # Root ignores permission bits, so the directory is made read-only by a mount.
    out = tmp_path / "ro"
    out.mkdir()
    result = subprocess.run(
        [
            "bwrap",
            "--bind",
            "/",
            "/",
            "--ro-bind",
            str(out),
            str(out),
            "--dev",
            "/dev",
            sys.executable,
            "-m",
            "packager",
            "bundle",
            str(hello_binary),
            "--out",
            str(out),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot write to the output directory" in result.stderr
    assert "Read-only file system" in result.stderr


def test_library_refuses_overwrite_with_a_typed_error(hello_binary: Path, tmp_path: Path) -> None:
    (tmp_path / "SHA256SUMS").write_text("mine")
    with pytest.raises(OutputExistsError) as caught:
        bundle_binary(
            str(hello_binary),
            out_dir=str(tmp_path),
            environ=bundle_environ(),
            formats=(BundleFormat.ZIP,),
        )
    assert caught.value.path == str(tmp_path / "SHA256SUMS")
