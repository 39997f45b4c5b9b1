"""Cross builds for aarch64-unknown-linux-gnu, run with qemu-user against a Debian arm64 root.

The root is Debian's arm64 libpython3.11 packages and the libraries they need, fetched
with `apt-get download` and unpacked with `dpkg-deb -x` (nothing is installed on the
host), kept in the test cache. The samples are built dynamic and static (Debian's
libpython3.11-pic.a) and run by `qemu-aarch64-static -L ROOT`, which finds the loader,
libpython and the standard library in the root.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.cross import cross_target
from packager.cross_build import build_for_target, target_config
from packager.inspect import inspect_paths
from packager.model import BinaryFormat, LinkMode
from tests.helpers import SAMPLES, cargo_env, pyo3_cross_config

pytestmark = pytest.mark.integration

TARGET = "aarch64-unknown-linux-gnu"
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
    """Debian 12's arm64 CPython 3.11 unpacked into a root (cached)."""
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


def _run_qemu(root: Path, binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    # No PYTHON* variables (PYTHONUNBUFFERED included): the program's own start-up.
    environ = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run(
        ["qemu-aarch64-static", "-L", str(root), binary, *args],
        env=environ, capture_output=True, text=True, timeout=300, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_config_is_the_one_pyo3_reads_from_the_sysconfigdata(
    arm64_root: Path, tmp_path: Path
) -> None:
    target = cross_target(TARGET)
    search_dir = arm64_root / "usr" / "lib"
    printed = pyo3_cross_config(TARGET, search_dir, tmp_path)
    ours = target_config(target, python_home=str(arm64_root)).config
    # PyO3 names the directory it searched; ours is the one libpython3.11.so is in.
    assert printed.lib_dir == str(search_dir)
    assert ours.lib_dir == str(search_dir / "aarch64-linux-gnu")
    assert dataclasses.replace(ours, lib_dir=printed.lib_dir) == printed


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_samples_run_under_qemu(mode: str, arm64_root: Path) -> None:
    environ = cargo_env()
    builds = {
        sample: build_for_target(
            SAMPLES / sample,
            target=TARGET,
            environ=environ,
            python_home=str(arm64_root),
            mode=mode,
        )
        for sample in ("hello", "extmods")
    }
    for sample, outcome in builds.items():
        assert not [f for r in outcome.check.binaries for f in r.findings], outcome.check
        [report] = inspect_paths(list(outcome.binaries), environ={}, jobs=1).binaries
        assert (report.format, report.arch) == (BinaryFormat.ELF, "aarch64")
        assert report.link_mode is LinkMode(mode)
        if mode == "dynamic":
            assert report.libpython is not None
            assert report.libpython.name == "libpython3.11.so.1.0"
        # A static build also carries the stdlib's built-in modules (PyInit__abc, ...).
        assert f"PyInit_{sample}_native" in report.symbols.pyinit

    hello = _run_qemu(arm64_root, builds["hello"].binaries[0])
    assert hello.returncode == 0, hello.stderr
    lines = hello.stdout.splitlines()
    assert lines[0].startswith("3.11.2 ") and lines[1:] == [
        '{"hello": "world", "version": [3, 11, 2]}',
        "hello, packager, from Rust",
        "2 + 3 = 5",
    ]
    # An empty folder as SITE_DIR: extmods exits 1 naming the import that failed.
    extmods = _run_qemu(arm64_root, builds["extmods"].binaries[0], "/nonexistent site")
    assert extmods.returncode == 1, extmods.stderr
    assert extmods.stdout.splitlines()[:2] == ["python 3.11.2 (64-bit)", "decimal 3.30"]
    assert "imported _decimal from /usr/lib/python3.11/lib-dynload/_decimal." in extmods.stdout
    assert "could not import: markupsafe._speedups" in extmods.stderr
