"""A onefile program is named after the program cargo builds, not the folder it is in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, SAMPLES, cargo_env, run_packager
from tests.integration.bundle_helpers import DEBIAN_PYTHON

pytestmark = pytest.mark.integration


def test_a_crate_in_a_folder_of_another_name(tmp_path: Path) -> None:
    crate = tmp_path / "my checkout"
    shutil.copytree(SAMPLES / "hello", crate, ignore=shutil.ignore_patterns("target"))
    out = tmp_path / "out"
    completed = run_packager(
        "bundle", str(crate), "--onefile", "--python", DEBIAN_PYTHON, "--out", str(out),
        environ=cargo_env(),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["hello", "hello.cdx.json"]


def test_a_workspace_member_chosen_with_p(tmp_path: Path) -> None:
    out = tmp_path / "out"
    workspace = REPO / "tests" / "crates" / "workspace"
    completed = run_packager(
        "bundle", str(workspace), "-p", "ws-app", "--onefile", "--python", DEBIAN_PYTHON,
        "--out", str(out), environ=cargo_env(),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["ws-app", "ws-app.cdx.json"]
