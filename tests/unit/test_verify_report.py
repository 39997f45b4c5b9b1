"""What a verify run's report says it checked and how that ended, in text and in JSON
(validated against verify-v1.json), and the CLI's refusal of options that do not fit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from packager.reporting.bundle import verify_to_document, verify_to_json, verify_to_text
from packager.verify.model import Check, Expectation, Outcome, VerifyResult
from tests.helpers import run_packager
from tests.schemas import validate

PORT = Expectation(Check.PORT, port=8080)
OUTPUT = Expectation(Check.OUTPUT, pattern="listening on [0-9]+")

# (expectation, outcome, exit status, passed, the verdict)
CASES = [
    (Expectation(), Outcome.EXITED, 0, True, "exited with status 0"),
    (Expectation(), Outcome.EXITED, 101, False, "exited with status 101"),
    (Expectation(), Outcome.TIMED_OUT, -9, False, "did not finish within 5 s; stopped"),
    (PORT, Outcome.READY, 0, True, "TCP port 8080 listened; then stopped"),
    (PORT, Outcome.EXITED, 0, False, "exited with status 0 before listening on TCP port 8080"),
    (PORT, Outcome.TIMED_OUT, -9, False, "nothing listened on TCP port 8080 within 5 s"),
    (OUTPUT, Outcome.READY, 0, True, "printed a line matching 'listening on [0-9]+'"),
    (
        OUTPUT,
        Outcome.EXITED,
        3,
        False,
        "exited with status 3 before printing a line matching 'listening on [0-9]+'",
    ),
    (
        OUTPUT,
        Outcome.TIMED_OUT,
        -9,
        False,
        "printed no line matching 'listening on [0-9]+' within 5 s",
    ),
]


def _result(expectation: Expectation, outcome: Outcome, status: int) -> VerifyResult:
    return VerifyResult(
        "dist/app", ("/tmp/packager verify/app/app",), "/tmp/packager verify", (), status,
        "listening on 8080\n", "", expectation=expectation, outcome=outcome, timeout=5.0,
    )  # fmt: skip


@pytest.mark.parametrize(("expectation", "outcome", "status", "passed", "verdict"), CASES)
def test_the_report_says_what_was_checked_and_how_it_ended(
    expectation: Expectation, outcome: Outcome, status: int, passed: bool, verdict: str
) -> None:
    result = _result(expectation, outcome, status)
    document = verify_to_document(result)
    validate(document, "verify-v1.json")
    check = document["verify"]["check"]
    assert (document["verify"]["ok"], check["kind"], check["outcome"], check["verdict"]) == (
        passed,
        expectation.check.value,
        outcome.value,
        verdict,
    )


def test_the_text_report_leads_with_the_verdict() -> None:
    text = verify_to_text(_result(PORT, Outcome.TIMED_OUT, -9))
    assert text.splitlines()[0] == (
        "verify dist/app: FAILED (nothing listened on TCP port 8080 within 5 s)"
    )


def test_a_result_made_as_before_is_judged_by_its_exit_status() -> None:
    result = VerifyResult("dist/app", ("app",), "/tmp/packager verify", (), 0, "", "")
    assert json.loads(verify_to_json(result))["verify"]["check"] == {
        "kind": "exit_status",
        "port": None,
        "pattern": None,
        "timeout": None,
        "outcome": "exited",
        "verdict": "exited with status 0",
    }


def _fifo(tmp_path: Path) -> str:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return str(fifo)


# (options of `verify` before the subject, words of the one-line error)
REFUSED = [
    (["--expect-port", "65536"], "--expect-port 65536 is not a TCP port"),
    (["--expect-output", "a("], "is not a regular expression"),
    (["--expect-port", "80", "--expect-output", "a"], "--expect-port and --expect-output"),
    (["--gui", "--expect-port", "80"], "--expect-port applies to a run without --gui"),
    (["--gui", "--stdin", "1"], "--stdin applies to a run without --gui"),
    (["--stdin", "1", "--stdin-file", "FIFO"], "--stdin and --stdin-file"),
    (["--stdin-file", "FIFO"], "must name a regular file"),
]


@pytest.mark.parametrize(("options", "message"), REFUSED)
def test_options_that_do_not_fit_are_refused_before_the_run(
    tmp_path: Path, options: list[str], message: str
) -> None:
    fifo = _fifo(tmp_path)
    given = [fifo if option == "FIFO" else option for option in options]
    done = run_packager("verify", *given, str(tmp_path), "--", "1")
    assert (done.returncode, message in done.stderr) == (2, True), done.stderr
