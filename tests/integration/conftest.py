"""Fixtures of the integration tests: subjects built or installed once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_FIXTURE_SCRIPT = Path(__file__).parent.parent / "fixtures" / "build_fixtures.sh"


@pytest.fixture(scope="session")
def arm64_root() -> Path:
    """Debian 12's arm64 CPython 3.11 unpacked into a root: the one packager makes for an
    aarch64 target when no --python-home is given (cached; nothing installed on the host)."""
    from packager.core.context import Context
    from packager.python.debian_root import debian_root
    from packager.targets import TARGETS

    return Path(debian_root(TARGETS["aarch64-unknown-linux-gnu"], Context(os.environ)))


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


@pytest.fixture(scope="session")
def markupsafe_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with markupsafe (a wheel with a compiled extension) installed by pip."""
    site = tmp_path_factory.mktemp("site")
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site), "markupsafe"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"pip could not install markupsafe: {completed.stderr.strip()[-300:]}")
    assert list((site / "markupsafe").glob("_speedups.*.so")), "markupsafe has no compiled part"
    return site


@pytest.fixture(scope="session")
def numpy_pillow_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """numpy and pillow, as pip installs their manylinux wheels: each package ships the
    libraries its modules need in NAME.libs/ (OpenBLAS, gfortran; libjpeg, libtiff...)."""
    site = tmp_path_factory.mktemp("numpy-site")
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site)]
    argv += ["--only-binary", ":all:", "--python-version", "3.11"]
    argv += ["--platform", "manylinux2014_x86_64", "numpy", "pillow"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    if completed.returncode != 0:
        pytest.fail(f"pip could not install numpy and pillow: {completed.stderr.strip()[-300:]}")
    for package in ("numpy", "pillow"):
        assert list((site / f"{package}.libs").glob("*.so*")), f"{package} ships no libraries"
    return site
