"""No program packager starts inherits a signing secret (PACKAGER_GPG_PASSPHRASE,
PACKAGER_SIGN_PASSWORD): cargo, pip or a crate's build script must never read them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from packager.core import runner
from packager.core.secrets import SECRET_VARIABLES
from packager.outputs import authenticode, signing

ENVIRON = {
    "PATH": os.environ["PATH"],
    "PACKAGER_GPG_PASSPHRASE": "gpg-secret-1",
    "PACKAGER_SIGN_PASSWORD": "pfx-secret-2",
    "KEPT": "yes",
}


def _names(env_output: str) -> set[str]:
    return {line.partition("=")[0] for line in env_output.splitlines()}


def test_the_signing_modules_read_only_variables_children_never_get() -> None:
    assert {signing.PASSPHRASE_ENV, authenticode.PASSWORD_ENV} <= SECRET_VARIABLES


def test_a_captured_run_gets_no_secret() -> None:
    names = _names(runner.run(["env"], environ=ENVIRON).stdout)
    assert (names & SECRET_VARIABLES, "KEPT" in names) == (set(), True)


def test_a_streamed_run_gets_no_secret() -> None:
    lines: list[str] = []
    runner.run(["sh", "-c", "env >&2"], environ=ENVIRON, on_line=lines.append)
    names = _names("\n".join(lines))
    assert (names & SECRET_VARIABLES, "KEPT" in names) == (set(), True)


def test_a_spawned_program_gets_no_secret() -> None:
    process = runner.spawn(["env"], ENVIRON, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    output, _ = process.communicate(timeout=60)
    names = _names(output.decode())
    assert (names & SECRET_VARIABLES, "KEPT" in names) == (set(), True)


def test_each_signer_hands_its_tools_neither_secret(tmp_path: Path) -> None:
    pfx = tmp_path / "code.pfx"
    pfx.write_bytes(b"")  # only its existence is checked here
    gpg = signing.make_signer("release@example.org", ENVIRON)
    code = authenticode.make_code_signer(str(pfx), None, None, ENVIRON)
    assert gpg is not None and code is not None
    assert (set(gpg.environ) & SECRET_VARIABLES, set(code.environ) & SECRET_VARIABLES) == (
        set(),
        set(),
    )
