"""PyO3 config files against PyO3 0.29 itself: real cargo builds of a throwaway crate."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from packager.crate.pyo3_config import PyO3Config, config_for, parse, write_config_file
from packager.python.interpreters import Interpreter, probe
from tests.helpers import cargo_env, require_cargo

_MAIN_RS = """\
use pyo3::prelude::*;

fn main() {
    Python::initialize();
    Python::attach(|py| {
        let sys = py.import("sys").unwrap();
        let version: String = sys.getattr("version").unwrap().extract().unwrap();
        println!("version {}", version.split_whitespace().next().unwrap());
        // _bz2 is a C extension in lib-dynload: it needs the Python symbols exported.
        match py.import("_bz2") {
            Ok(_) => println!("extension ok"),
            Err(err) => println!("extension failed: {err}"),
        }
    });
}
"""

_BUILD_RS = 'fn main() { println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic"); }\n'


def _probe_crate(root: Path, *, build_rs: bool = False) -> Path:
    """A throwaway binary crate that embeds Python with PyO3 0.29 (auto-initialize off)."""
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "pyo3probe"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\npyo3 = { version = "0.29", default-features = false, '
        'features = ["macros"] }\n'
    )
    (root / "src" / "main.rs").write_text(_MAIN_RS)
    if build_rs:
        (root / "build.rs").write_text(_BUILD_RS)
    return root


def _cargo(crate: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_cargo(), "build"],
        cwd=crate,
        env=environ,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.parametrize("python", ["static_cpython", "shared_cpython"])
def test_auto_config_equals_pyo3_print_config(
    tmp_path: Path, python: str, request: pytest.FixtureRequest
) -> None:
    interpreter: Interpreter = request.getfixturevalue(python)
    crate = _probe_crate(tmp_path / "crate")
    result = _cargo(crate, cargo_env(PYO3_PYTHON=interpreter.path, PYO3_PRINT_CONFIG="1"))
    assert result.returncode == 101, result.stderr  # PYO3_PRINT_CONFIG halts the build
    printed = parse(result.stdout + result.stderr)
    assert printed == config_for(probe(interpreter.path, dict(os.environ)), "auto")


def test_pyo3_reads_back_our_static_config_unchanged(
    tmp_path: Path, static_cpython: Interpreter
) -> None:
    config = config_for(probe(static_cpython.path, dict(os.environ)), "static")
    path = write_config_file(config, tmp_path / "target")
    crate = _probe_crate(tmp_path / "crate")
    result = _cargo(crate, cargo_env(PYO3_CONFIG_FILE=str(path), PYO3_PRINT_CONFIG="1"))
    assert result.returncode == 101, result.stderr
    assert parse(result.stdout + result.stderr) == config


def test_static_build_runs_and_imports_extensions_with_bin_export_dynamic(
    tmp_path: Path, static_cpython: Interpreter
) -> None:
    config = config_for(probe(static_cpython.path, dict(os.environ)), "static")
    path = write_config_file(config, tmp_path / "target")
    environ = cargo_env(PYO3_CONFIG_FILE=str(path))
    crate = _probe_crate(tmp_path / "crate", build_rs=True)
    result = _cargo(crate, environ)
    assert result.returncode == 0, result.stderr
    binary = Path(environ["CARGO_TARGET_DIR"]) / "debug" / "pyo3probe"
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    expected = probe(static_cpython.path, dict(os.environ)).version
    assert run.stdout.splitlines() == [f"version {expected}", "extension ok"]
    dynamic = subprocess.run(
        ["readelf", "-d", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    assert "libpython" not in dynamic  # the interpreter is inside the binary


def test_link_arg_from_pyo3_build_script_does_not_reach_the_binary(
    tmp_path: Path, static_cpython: Interpreter
) -> None:
    """The DESIGN fact: -Wl,--export-dynamic via extra_build_script_line is dropped."""
    config = config_for(probe(static_cpython.path, dict(os.environ)), "static")
    line = "cargo:rustc-link-arg=-Wl,--export-dynamic"
    config = PyO3Config(
        **{**config.__dict__, "extra_build_script_lines": (*config.extra_build_script_lines, line)}
    )
    path = write_config_file(config, tmp_path / "target")
    environ = cargo_env(PYO3_CONFIG_FILE=str(path))
    crate = _probe_crate(tmp_path / "crate")  # no build.rs of its own
    result = _cargo(crate, environ)
    assert result.returncode == 0, result.stderr
    binary = Path(environ["CARGO_TARGET_DIR"]) / "debug" / "pyo3probe"
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60, check=False)
    assert "extension failed" in run.stdout and "undefined symbol" in run.stdout
