"""A non-editable `pip install .` carries every data file the commands need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """packager installed from a wheel built from the checkout, into a bare target dir."""
    target = tmp_path_factory.mktemp("installed")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir",
         "--target", str(target), str(REPO)],
        check=True,
        timeout=600,
    )  # fmt: skip
    return target


def run_installed(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Dependencies come from the running interpreter's site-packages; packager itself only
    # from the install target (the checkout is neither the cwd nor on the path).
    environ = dict(os.environ, PYTHONPATH=str(installed), PYTHONSAFEPATH="1")
    return subprocess.run(
        [sys.executable, "-m", "packager", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_data_file_is_installed(installed: Path) -> None:
    pairs = [(REPO / "packager", installed / "packager"),
             (REPO / "templates", installed / "packager" / "templates")]  # fmt: skip
    for source, copy in pairs:
        wanted = {
            p.relative_to(source)
            for p in source.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        present = {p.relative_to(copy) for p in copy.rglob("*") if p.is_file()}
        assert wanted <= present, f"missing from the install: {sorted(wanted - present)}"


def test_installed_copy_runs_without_the_checkout(installed: Path, tmp_path: Path) -> None:
    done = run_installed(installed, tmp_path, "inspect", "--json", "/usr/bin/python3.11")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["binaries"][0]["link_mode"] == "static"
    made = run_installed(installed, tmp_path, "new", "fresh", "--module", "fresh_native")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "fresh" / "src" / "main.rs").is_file()
    assert (tmp_path / "fresh" / ".gitignore").is_file()
    located = subprocess.run(
        [sys.executable, "-c", "import packager; print(packager.__file__)"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(installed), PYTHONSAFEPATH="1"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert located.stdout.startswith(str(installed))
