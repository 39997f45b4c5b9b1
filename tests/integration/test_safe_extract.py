"""Archive extraction refuses hostile members the same way on every Python from 3.11.0."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.extract_cases import CASES
from tests.helpers import REPO

# Debian 12's own interpreter (3.11.2): older than tarfile's extraction filters (3.11.4).
DEBIAN_PYTHON = "/usr/bin/python3.11"


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_extraction_case(case: Callable[[Path], None], tmp_path: Path) -> None:
    case(tmp_path)


def test_every_case_passes_on_debians_python(tmp_path: Path) -> None:
    if not Path(DEBIAN_PYTHON).is_file():
        pytest.fail(f"{DEBIAN_PYTHON} is missing: install python3.11 (Debian)")
    # -I: none of this environment's PYTHON* variables or user site; the script finds the
    # checkout's packager by its own path.
    done = subprocess.run(
        [DEBIAN_PYTHON, "-I", str(REPO / "tests" / "extract_cases.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    passed = [line for line in done.stdout.splitlines() if line.startswith("ok ")]
    assert len(passed) == len(CASES), done.stdout
    assert "python 3.11." in done.stdout


def test_archives_are_extracted_only_by_safe_extract() -> None:
    # tarfile's extractall/extract (and their filter= argument, 3.11.4+) are not used
    # anywhere else: one place decides what an archive may write.
    pattern = re.compile(r"\.extract(all)?\(|filter=")
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "packager").rglob("*.py"))
        if path.name != "safe_extract.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, offenders
