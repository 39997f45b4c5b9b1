"""Trimming keeps what the app's Python imports, and says what shipped code loses.

The turtle app carries its Python inside the binary (`include_str!`): bundled without
--keep, tkinter must still ship and its window must open. A bundle whose requirements
import a trimmed part (numpy's numpy.distutils imports distutils) must say so, naming both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO, SAMPLES, cargo_env, run_packager
from tests.integration.bundle_helpers import DEBIAN_PYTHON

pytestmark = pytest.mark.integration

TURTLE = REPO / "tests" / "crates" / "turtleapp"
TITLE = "packager turtle drawing"


@pytest.fixture(scope="module")
def turtle_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The turtle app bundled as a folder without --keep; (folder, packager's report)."""
    out = tmp_path_factory.mktemp("turtle")
    completed = run_packager(
        "bundle", str(TURTLE), "--format", "dir", "--python", DEBIAN_PYTHON, "--out", str(out),
        environ=cargo_env(),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out / "turtleapp", completed.stdout + completed.stderr


def test_the_note_names_the_compiled_in_script_that_imports_turtle(
    turtle_bundle: tuple[Path, str],
) -> None:
    _folder, report = turtle_bundle
    assert "tkinter kept: src/drawing.py imports turtle" in report


def test_the_turtle_window_opens_from_the_folder(turtle_bundle: tuple[Path, str]) -> None:
    folder, _report = turtle_bundle
    shown = run_packager("verify", "--gui", "--window-title", TITLE, "--json", str(folder))
    assert shown.returncode == 0, shown.stdout + shown.stderr[-3000:]
    assert TITLE in json.dumps(json.loads(shown.stdout))


def test_a_requirement_importing_a_trimmed_part_is_named_with_it(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy<2.3\n", encoding="utf-8")
    completed = run_packager(
        "bundle", str(SAMPLES / "hello"), "--format", "dir", "--python", DEBIAN_PYTHON,
        "--requirements", str(requirements), "--out", str(tmp_path / "out"),
        environ=cargo_env(),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "trimmed but imported: numpy imports distutils (" in completed.stdout
