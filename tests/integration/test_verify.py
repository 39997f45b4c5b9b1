"""`packager verify` on the command line: exit codes, arguments, text and JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from packager.bundle import BundleFormat, BundleManifest
from tests.helpers import REPO
from tests.integration.bundle_helpers import drop_sbom, output_path, remove_pure_stdlib
from tests.schemas import validate


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "packager", "verify", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": "/root"},
    )


def test_verify_json_reports_output_and_passes_arguments(hello_bundle: BundleManifest) -> None:
    tarball = output_path(hello_bundle, BundleFormat.TAR_ZST)
    result = verify("--json", "--env", "PYTHONUNBUFFERED=1", str(tarball), "--", "--flag", "a b")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    validate(document, "verify-v1.json")
    report = document["verify"]
    assert report["ok"] is True
    assert report["command"][-2:] == ["--flag", "a b"]
    assert report["command"][0].startswith("/tmp/packager verify/")
    assert "hello, packager, from Rust" in report["stdout"]


def test_verify_exits_1_and_shows_the_error_of_a_broken_bundle(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    tree = tmp_path / hello_bundle.name
    shutil.copytree(output_path(hello_bundle, BundleFormat.DIR), tree)
    remove_pure_stdlib(tree)
    drop_sbom(tree)
    result = verify(str(tree))
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "encodings" in result.stdout


def test_verify_rejects_what_is_not_a_bundle(tmp_path: Path) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("hi")
    result = verify(str(stray))
    assert result.returncode == 2
    assert "not a bundle directory, archive" in result.stderr


def test_verify_refuses_a_sysroot_for_a_bundle_of_this_machine(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    # --sysroot only feeds qemu-user; a native bundle would silently ignore it.
    result = verify("--sysroot", str(tmp_path), str(output_path(hello_bundle, BundleFormat.DIR)))
    refused = "--sysroot is for a bundle of another architecture" in result.stderr
    assert (result.returncode, refused) == (2, True), result.stderr
