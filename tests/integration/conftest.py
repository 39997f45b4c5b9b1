"""Fixtures of the integration tests: subjects built or installed once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_FIXTURE_SCRIPT = Path(__file__).parent.parent / "fixtures" / "build_fixtures.sh"

# The arm64 packages of the root: CPython 3.11 and what libpython and its modules load.
ROOT_PACKAGES = (
    "libc6", "libgcc-s1", "gcc-12-base", "libcrypt1", "zlib1g", "zlib1g-dev", "libexpat1",
    "libexpat1-dev", "libffi8", "libbz2-1.0", "liblzma5", "libssl3", "libsqlite3-0",
    "libuuid1", "libncursesw6", "libtinfo6", "libreadline8", "libdb5.3", "libnsl2",
    "libtirpc3", "libgssapi-krb5-2", "libkrb5-3", "libk5crypto3", "libkrb5support0",
    "libkeyutils1", "libcom-err2", "libpython3.11-minimal", "libpython3.11-stdlib",
    "libpython3.11", "libpython3.11-dev",
)  # fmt: skip


def _test_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "packager" / "tests"


@pytest.fixture(scope="session")
def arm64_root() -> Path:
    """Debian 12's arm64 CPython 3.11 unpacked into a root (cached): fetched with
    `apt-get download` and unpacked with `dpkg-deb -x`; nothing is installed on the host."""
    root = _test_cache() / "arm64-root"
    if (root / "usr" / "lib" / "aarch64-linux-gnu" / "libpython3.11.so.1.0").is_file():
        return root
    debs = root.with_name("arm64-root.debs")
    shutil.rmtree(debs, ignore_errors=True)
    debs.mkdir(parents=True)
    os.chmod(debs, 0o777)  # apt-get download hands the files to its _apt user
    completed = subprocess.run(
        ["apt-get", "download", *(f"{name}:arm64" for name in ROOT_PACKAGES)],
        cwd=debs, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        pytest.fail(
            "apt-get download failed (the host needs `dpkg --add-architecture arm64` and "
            f"`apt-get update`, as tests/run.sh does):\n{completed.stderr[-1500:]}"
        )
    partial = root.with_name("arm64-root.partial")
    shutil.rmtree(partial, ignore_errors=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    shutil.rmtree(debs)
    return root


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
