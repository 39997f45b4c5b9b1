"""Shared pytest fixtures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

_FIXTURE_SCRIPT = Path(__file__).parent / "fixtures" / "build_fixtures.sh"


@pytest.fixture(scope="session")
def macho_pe_fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mach-O and PE binaries built once per session by tests/fixtures/build_fixtures.sh."""
    out = tmp_path_factory.mktemp("macho_pe")
    result = subprocess.run(
        ["bash", str(_FIXTURE_SCRIPT), str(out)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        # Fail rather than skip: CI installs the cross tools, so a failure here is real.
        pytest.fail(f"build_fixtures.sh failed ({result.returncode}):\n{result.stderr}")
    return out
