"""`packager verify` on programs that do not simply run and exit: one that reads its
standard input (--stdin, --stdin-file), and a server (--expect-port, --expect-output,
and --timeout on a program that never ends).

tests/crates/stdinsum asks for two whole numbers on stdin and prints their sum computed
by Python; with no input its parse fails (ParseIntError). tests/crates/pyserver serves
Python's http.server on 127.0.0.1:8080, saying "listening on 8080"; with --never-listen
it says it is starting and only waits. Both are bundled as folders against Debian's
Python and run in the sandbox, whose network namespace is its own.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, cargo_env, run_packager
from tests.integration.bundle_helpers import DEBIAN_PYTHON
from tests.integration.windows_helpers import TARGET

pytestmark = pytest.mark.integration

CRATES = REPO / "tests" / "crates"


def _bundled(crate: str, out: Path, *options: str) -> Path:
    """tests/crates/`crate` bundled as a folder with `options`, as `packager bundle`
    writes it."""
    for tool in ("cargo", "bwrap"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    done = run_packager(
        "bundle", str(CRATES / crate), "--format", "dir", "--python", DEBIAN_PYTHON,
        "--out", str(out), *options, environ=cargo_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out / crate


@pytest.fixture(scope="module")
def adder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _bundled("stdinsum", tmp_path_factory.mktemp("stdinsum"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Path:
    app = CRATES / "pyserver" / "app"
    out = tmp_path_factory.mktemp("pyserver")
    return _bundled("pyserver", out, "--app-dir", str(app), "--workdir", "app")


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return run_packager("verify", *args, timeout=300)


def _report(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    report: dict[str, object] = json.loads(done.stdout)["verify"]
    return report


def test_an_interactive_program_gets_the_stdin_given(adder: Path) -> None:
    done = verify(str(adder), "--stdin", "3\n4\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "    sum 7" in done.stdout.splitlines()


def test_an_interactive_program_gets_the_bytes_of_a_stdin_file(adder: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.txt"
    answers.write_bytes(b"10\n-3\n")
    done = verify("--json", str(adder), "--stdin-file", str(answers))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _report(done)["stdout"] == "first? second? \nsum 7\n"


def test_an_interactive_program_without_stdin_fails(adder: Path) -> None:
    done = verify(str(adder))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == f"verify {adder}: FAILED (exited with status 101)"
    assert "ParseIntError" in done.stdout


def test_a_windows_program_gets_the_stdin_given_under_wine(
    windows_home: Path, cross_environ: dict[str, str], tmp_path: Path
) -> None:
    built = run_packager(
        "bundle", str(CRATES / "stdinsum"), "--target", TARGET, "--python-home",
        str(windows_home), "--out", str(tmp_path), environ=cross_environ,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    done = verify(str(tmp_path / "stdinsum"), "--stdin", "3\n4\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "    sum 7" in done.stdout.splitlines()


def test_a_server_passes_once_its_port_listens_in_the_sandbox(server: Path) -> None:
    done = verify("--json", "--expect-port", "8080", "--timeout", "120", str(server))
    assert done.returncode == 0, done.stdout + done.stderr
    report = _report(done)
    assert (report["check"], report["stdout"]) == (
        {
            "kind": "port",
            "port": 8080,
            "pattern": None,
            "timeout": 120.0,
            "outcome": "ready",
            "verdict": "TCP port 8080 listened; then stopped",
        },
        "listening on 8080\n",
    )


def test_a_server_that_never_listens_fails_with_its_last_output(server: Path) -> None:
    # A port listening on this machine, outside the sandbox, does not count.
    with socket.socket() as outside:
        outside.bind(("127.0.0.1", 0))
        outside.listen()
        port = outside.getsockname()[1]
        done = verify(
            "--expect-port", str(port), "--timeout", "5", str(server), "--", "--never-listen"
        )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"verify {server}: FAILED (nothing listened on TCP port {port} within 5 s)"
    assert "    starting, but never listening" in lines


def test_a_program_that_exits_before_listening_fails_with_its_status(adder: Path) -> None:
    done = verify("--expect-port", "8080", "--timeout", "120", str(adder))
    assert done.returncode == 1, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.endswith("FAILED (exited with status 101 before listening on TCP port 8080)")
    assert "ParseIntError" in done.stdout


def test_a_server_passes_once_its_output_matches(server: Path) -> None:
    done = verify("--expect-output", "listening on 8080", "--timeout", "120", str(server))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == (
        f"verify {server}: ok (printed a line matching 'listening on 8080')"
    )


def test_a_program_past_its_timeout_fails_with_its_output_so_far(server: Path) -> None:
    done = verify("--timeout", "5", str(server))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"verify {server}: FAILED (did not finish within 5 s; stopped)"
    assert "    listening on 8080" in lines
    assert "bwrap" not in done.stderr
