"""The sample crates build with plain cargo against a shared libpython and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from packager.python.interpreters import Interpreter
from tests.helpers import SAMPLES, cargo_build, cargo_env, run_binary

STDLIB_EXTENSIONS = ("_decimal", "_ctypes", "_json")


@pytest.fixture(scope="module")
def runtime_env(shared_cpython: Interpreter) -> tuple[dict[str, str], dict[str, str]]:
    """(environment for cargo, environment for running the result) for the shared CPython."""
    # PyO3's rpath to the build interpreter's libdir stays in its own build script and
    # never reaches the binary, so the loader is told where the right libpython is.
    return (
        cargo_env(PYO3_PYTHON=shared_cpython.path),
        cargo_env(LD_LIBRARY_PATH=str(shared_cpython.libdir)),
    )


def test_hello_prints_version_and_calls_its_module(
    runtime_env: tuple[dict[str, str], dict[str, str]], shared_cpython: Interpreter
) -> None:
    build_env, run_env = runtime_env
    binary = cargo_build(SAMPLES / "hello", build_env, "hello")
    completed = run_binary(binary, environ=run_env)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith(shared_cpython.version + " ")
    version = [int(part) for part in shared_cpython.version.split(".")]
    assert json.loads(lines[1]) == {"hello": "world", "version": version}
    assert lines[2:] == ["hello, packager, from Rust", "2 + 3 = 5"]


def test_extmods_imports_stdlib_and_wheel_extensions(
    runtime_env: tuple[dict[str, str], dict[str, str]], markupsafe_site: Path
) -> None:
    build_env, run_env = runtime_env
    binary = cargo_build(SAMPLES / "extmods", build_env, "extmods")
    completed = run_binary(binary, str(markupsafe_site), environ=run_env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    imported = {
        line.split()[1]: line.split(" from ", 1)[1]
        for line in completed.stdout.splitlines()
        if line.startswith("imported ")
    }
    for name in STDLIB_EXTENSIONS:
        assert Path(imported[name]).parent.name == "lib-dynload", imported[name]
    speedups = Path(imported["markupsafe._speedups"])
    assert speedups.parent == markupsafe_site / "markupsafe" and speedups.suffix == ".so"


def test_extmods_exits_non_zero_naming_a_failed_import(
    runtime_env: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    build_env, run_env = runtime_env
    binary = cargo_build(SAMPLES / "extmods", build_env, "extmods")
    completed = run_binary(binary, str(tmp_path), environ=run_env)
    assert completed.returncode == 1
    assert "FAILED markupsafe._speedups: No module named 'markupsafe'" in completed.stderr
    assert "could not import: markupsafe._speedups" in completed.stderr
