"""The README's `sh` blocks run in order, as a new user would type them, so it cannot rot.

They run in one `bash -euo pipefail` process in a fresh copy of the checkout, with an empty
HOME (the real cargo, rustup and cache folders kept), the test venv off PATH (the README's
own install block must put packager there) and no stdin. See tests/readme_blocks.py.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import pytest

from tests import readme_blocks
from tests.helpers import REPO

README = REPO / "README.md"
# Set inside the README's run: a README block that runs the test suite must be skipped.
NESTED = "PACKAGER_README_TEST"
TAIL_LINES = 80


def _report_skipped(blocks: list[readme_blocks.Block]) -> str:
    lines = [f"README.md line {block.line}: {block.skip}" for block in blocks]
    for line in lines:
        warnings.warn(f"not run: {line}", readme_blocks.ReadmeSkip, stacklevel=2)
    return "\n".join(["blocks not run:", *lines]) if lines else "every sh block ran"


def test_readme_sh_blocks_run_in_order(tmp_path: Path) -> None:
    if os.environ.get(NESTED):
        pytest.fail(
            "this test is running inside the README's own run: mark the README block that "
            "runs the test suite `<!-- readme-test: skip REASON -->`"
        )
    blocks = readme_blocks.parse(README.read_text(encoding="utf-8"))
    skipped = _report_skipped(readme_blocks.skipped(blocks))
    checkout, home = tmp_path / "checkout", tmp_path / "home"
    readme_blocks.copy_checkout(REPO, checkout)
    home.mkdir()
    environ = readme_blocks.fresh_environ(os.environ, home, readme_blocks.running_venv_bin())
    environ[NESTED] = "1"
    script = tmp_path / "readme.sh"
    script.write_text(readme_blocks.script(blocks), encoding="utf-8")
    log = tmp_path / "readme.log"
    with log.open("wb") as output:
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", str(script)],
            cwd=checkout, env=environ, stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT, timeout=3 * 3600, check=False,
        )  # fmt: skip
    text = log.read_text(encoding="utf-8", errors="replace")
    tail = "\n".join(text.splitlines()[-TAIL_LINES:])
    assert completed.returncode == 0, (
        f"the sh block at README.md line {readme_blocks.failed_block(text)} failed "
        f"(exit {completed.returncode}); {skipped}\nthe last {TAIL_LINES} lines of output:\n"
        f"{tail}"
    )
