"""The bundle pipeline end to end: every output written is verified."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_packager
from tests.integration.bundle_helpers import bundle_environ
from tests.schemas import validate


def test_verify_runs_every_output_and_the_json_follows_its_schema(
    hello_binary: Path, tmp_path: Path
) -> None:
    result = run_packager(
        "bundle",
        str(hello_binary),
        "--format",
        "dir,tar.gz,installer",
        "--out",
        str(tmp_path),
        "--verify",
        "--json",
        environ=bundle_environ(),
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    validate(document, "bundle-v1.json")
    written = [o["path"] for o in document["bundle"]["outputs"] if o["format"] is not None]
    assert [v["subject"] for v in document["verified"]] == written
    assert all(
        v["ok"] and "hello, packager, from Rust" in v["stdout"] for v in document["verified"]
    )
    assert document["verify"] == document["verified"][-1]
