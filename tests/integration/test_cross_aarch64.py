"""Cross builds for aarch64-unknown-linux-gnu, run with qemu-user against a Debian arm64 root.

The root is Debian's arm64 libpython3.11 packages and the libraries they need (the
`arm64_root` fixture, tests/integration/conftest.py). The samples are built dynamic and
static (Debian's libpython3.11-pic.a) and run by `qemu-aarch64-static -L ROOT`, which
finds the loader, libpython and the standard library in the root. Their bundles:
test_bundle_aarch64.py.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from packager.binary.inspect import inspect_paths
from packager.binary.model import BinaryFormat, LinkMode
from packager.crate.cross_build import build_for_target, target_config
from packager.targets import cross_target
from tests.helpers import SAMPLES, cargo_env, pyo3_cross_config

pytestmark = pytest.mark.integration

TARGET = "aarch64-unknown-linux-gnu"


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
