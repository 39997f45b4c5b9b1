"""`packager new` creates a crate that builds with plain cargo and runs."""

from __future__ import annotations

from pathlib import Path

from packager.crate.scaffold import new_crate
from packager.python.interpreters import Interpreter
from tests.helpers import cargo_build, cargo_env, run_binary


def test_new_crate_builds_and_runs(tmp_path: Path, shared_cpython: Interpreter) -> None:
    interpreter, libdir = shared_cpython.path, str(shared_cpython.libdir)
    crate = new_crate(tmp_path / "demo-app", "demo-app", ("fastmath", "textutil"))
    binary = cargo_build(crate, cargo_env(PYO3_PYTHON=interpreter), "demo-app")
    run_env = cargo_env(LD_LIBRARY_PATH=libdir)
    completed = run_binary(binary, environ=run_env)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        f"Python {shared_cpython.version}",
        "hello, demo-app, from fastmath",
        "hello, demo-app, from textutil",
    ]

    # The same binary's exit status follows the script: a traceback and 1 on an
    # exception, the code given to sys.exit otherwise.
    script = crate / "app" / "main.py"
    script.write_text("import fastmath\nraise ValueError(fastmath.greet('x'))\n")
    binary = cargo_build(crate, cargo_env(PYO3_PYTHON=interpreter), "demo-app")
    failed = run_binary(binary, environ=run_env)
    assert failed.returncode == 1
    assert "Traceback" in failed.stderr
    assert "ValueError: hello, x, from fastmath" in failed.stderr

    script.write_text("import sys\nsys.exit(7)\n")
    binary = cargo_build(crate, cargo_env(PYO3_PYTHON=interpreter), "demo-app")
    assert run_binary(binary, environ=run_env).returncode == 7
