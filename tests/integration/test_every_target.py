"""One command, every target: this machine, aarch64 and Windows from one `bundle` run.

`--target` takes a comma-separated list and may be repeated; each target finds its own
Python (Windows the embeddable CPython --python 3.11 names, aarch64 its portable runtime,
this machine its default interpreter), writes the formats its layout
can under OUT/TRIPLE/, skips the others with a note, and verifies each output where it
runs (bubblewrap, qemu, wine). OUT/SHA256SUMS and OUT/artifacts.json cover everything.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import SAMPLES, cargo_env, run_packager
from tests.schemas import validate

pytestmark = pytest.mark.integration

TRIPLES = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-pc-windows-gnu")
Every = tuple[Path, subprocess.CompletedProcess[str]]


def _written(out: Path) -> set[str]:
    """The outputs under OUT/TRIPLE/, relative to OUT (each target's own SHA256SUMS aside)."""
    return {str(p.relative_to(out)) for p in out.glob("*/*") if p.name != "SHA256SUMS"}


@pytest.fixture(scope="module")
def every(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """samples/hello bundled for the three targets in one run: (OUT, the run)."""
    out = tmp_path_factory.mktemp("every") / "out"
    completed = run_packager(
        "bundle", str(SAMPLES / "hello"), "--target", ",".join(TRIPLES[:2]),
        "--target", TRIPLES[2], "--python", "3.11", "--format", "dir,zip,msi",
        "--out", str(out), "--verify", "--json", environ=cargo_env(), timeout=2400,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]
    return out, completed


def test_each_target_writes_its_formats_under_its_triple(
    every: Every,
) -> None:
    out, _run = every
    written = sorted(
        str(path.relative_to(out)) for path in out.glob("*/*") if path.name != "SHA256SUMS"
    )
    linux = [f"{triple}/{output}" for triple in TRIPLES[:2] for output in ("hello", "hello.zip")]
    windows = [f"{TRIPLES[2]}/{output}" for output in ("hello", "hello-0.1.0-x64.msi", "hello.zip")]
    outputs = [*linux, *windows]
    # Each output's SBOM lies beside it.
    assert written == sorted([*outputs, *(f"{output}.cdx.json" for output in outputs)])


def test_a_format_a_target_cannot_take_is_skipped_with_a_note(
    every: Every,
) -> None:
    _out, run = every
    for triple in TRIPLES[:2]:
        assert f"note: {triple}: skipped msi" in run.stderr


def test_one_sha256sums_covers_every_file_of_every_target(
    every: Every,
) -> None:
    out, _run = every
    listed = dict(
        reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines()
    )
    files = {
        str(p.relative_to(out)) for p in out.glob("*/*") if p.is_file() and p.name != "SHA256SUMS"
    }
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_the_artifacts_document_follows_its_schema_and_is_what_was_printed(
    every: Every,
) -> None:
    out, run = every
    document = json.loads((out / "artifacts.json").read_text())
    validate(document, "artifacts-v1.json")
    assert document == json.loads(run.stdout)
    floors = {a["target"]: a["glibc_floor"] for a in document["artifacts"]}
    assert floors["x86_64-pc-windows-gnu"] is None
    assert floors["aarch64-unknown-linux-gnu"] and floors["x86_64-unknown-linux-gnu"]


@pytest.fixture(scope="module")
def one_failed(tmp_path_factory: pytest.TempPathFactory) -> Every:
    """This machine and Windows in one run, Windows asked for a CPython that has no
    embeddable release: (OUT, the run)."""
    out = tmp_path_factory.mktemp("one-failed") / "out"
    completed = run_packager(
        "bundle", str(SAMPLES / "hello"), "--target", f"{TRIPLES[0]},{TRIPLES[2]}",
        "--python", "3.99", "--format", "dir", "--out", str(out), "--json",
        environ=cargo_env(),
    )  # fmt: skip
    return out, completed


def test_a_failed_target_loses_none_of_the_others_outputs(one_failed: Every) -> None:
    out, _run = one_failed
    document = json.loads((out / "artifacts.json").read_text())
    validate(document, "artifacts-v1.json")
    assert [a["target"] for a in document["artifacts"]] == [TRIPLES[0]]
    assert (out / TRIPLES[0] / "hello" / "bin" / "hello").is_file()


def test_a_failed_target_is_named_with_why_and_sets_the_exit_code(one_failed: Every) -> None:
    _out, run = one_failed
    [failed] = json.loads(run.stdout)["failed"]
    assert (run.returncode, failed["target"]) == (2, TRIPLES[2])
    assert "3.99" in failed["error"]
