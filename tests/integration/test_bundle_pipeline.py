"""The bundle pipeline end to end: every output written is verified."""

from __future__ import annotations

import json
from pathlib import Path

from packager.bundle import BundleFormat, BundleManifest
from tests.helpers import run_packager
from tests.integration.bundle_helpers import bundle_environ, output_path
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


def test_bundled_files_carry_no_build_machine_run_paths(hello_bundle: BundleManifest) -> None:
    """An interpreter built with -rpath (pyenv's) leaves RUNPATHs the bundle must not keep."""
    tree = output_path(hello_bundle, BundleFormat.DIR)
    checked = run_packager("check", "--json", "--fail-on", "warning", str(tree))
    document = json.loads(checked.stdout)
    leaks = [
        (binary["path"], finding["code"])
        for binary in document["binaries"]
        for finding in binary["findings"]
        if finding["code"] in ("PKG104", "PKG105")
    ]
    assert leaks == []
    assert checked.returncode == 0, checked.stdout
    for binary in document["binaries"]:
        assert all(entry.startswith("$ORIGIN") for entry in binary["rpaths"]), binary
