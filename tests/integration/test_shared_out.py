"""One --out for several runs: where outputs go, what a second run may add, and when an
output that exists is refused.

Several apps (and several formats of one app) share one output directory, each run
merging its lines into OUT/SHA256SUMS. An output that already exists is refused before
cargo runs: the crates here would fail to compile, so a run that reached cargo would
end in cargo's error instead. Without --out, the outputs go to ./dist.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, SAMPLES, cargo_env, run_packager, uncompilable_hello
from tests.integration.bundle_helpers import DEBIAN_PYTHON, bundle_environ

pytestmark = pytest.mark.integration

STDINSUM = REPO / "tests" / "crates" / "stdinsum"
WINDOWS = "x86_64-pc-windows-gnu"


def _bundle(source: Path, *args: str, cwd: Path | None = None) -> str:
    """Run `packager bundle SOURCE ARGS` (a crate built against Debian's Python); its
    stderr, after checking that it succeeded."""
    completed = run_packager(
        "bundle", str(source), "--python", DEBIAN_PYTHON, *args, environ=cargo_env(), cwd=cwd
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stderr


def _sums(out: Path) -> dict[str, str]:
    """OUT/SHA256SUMS as {name: SHA-256}, after `sha256sum -c` checked every line."""
    checked = subprocess.run(
        ["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=out, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = (out / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def test_two_apps_share_one_out(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    _bundle(SAMPLES / "hello", "--format", "dir,tar.gz", "--out", str(out))
    _bundle(STDINSUM, "--format", "dir,tar.gz,zip", "--out", str(out))
    outputs = ["hello", "hello.tar.gz", "stdinsum", "stdinsum.tar.gz", "stdinsum.zip"]
    sboms = [f"{output}.cdx.json" for output in outputs]  # beside each output
    assert sorted(p.name for p in out.iterdir()) == sorted(["SHA256SUMS", *outputs, *sboms])
    assert sorted(_sums(out)) == sorted([*outputs[1:2], *outputs[3:], *sboms])


def test_two_formats_of_one_app_written_by_two_runs_share_one_out(
    hello_binary: Path, tmp_path: Path
) -> None:
    for fmt in ("tar.gz", "zip"):
        completed = run_packager(
            "bundle", str(hello_binary), "--format", fmt, "--out", str(tmp_path),
            environ=bundle_environ(),
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr[-3000:]
    name = hello_binary.name
    outputs = [f"{name}.tar.gz", f"{name}.zip"]
    assert sorted(_sums(tmp_path)) == sorted([*outputs, *(f"{o}.cdx.json" for o in outputs)])


def _refused_before_cargo(crate: Path, existing: Path, *args: str) -> None:
    """`packager bundle CRATE ARGS` ends in the one-line "already exists" error for
    `existing`, left untouched, not in cargo's (exit 3)."""
    completed = run_packager("bundle", str(crate), *args, environ=cargo_env())
    assert (completed.returncode, completed.stderr.splitlines()[:1]) == (
        2,
        [f"packager: error: {existing}: already exists; refusing to overwrite it"],
    ), completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr and "cargo" not in completed.stderr
    assert (existing / "mine" if existing.is_dir() else existing).read_text() == "a user's"


@pytest.mark.parametrize(
    ("fmt", "existing"),
    [
        ("dir", "hello"),
        ("tar.gz", "hello.tar.gz"),
        ("zip", "hello.zip"),
        ("installer", "hello-installer.sh"),
        ("deb", "hello_0.1.0_amd64.deb"),
        ("rpm", "hello-0.1.0-1.x86_64.rpm"),
        ("onefile", "hello"),
    ],
)
def test_an_existing_output_is_refused_before_cargo_runs(
    tmp_path: Path, fmt: str, existing: str
) -> None:
    crate = uncompilable_hello(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    _make_existing(out / existing, directory=fmt == "dir")
    layout = ["--onefile"] if fmt == "onefile" else ["--format", f"dir,{fmt}"]
    _refused_before_cargo(crate, out / existing, *layout, "--python", DEBIAN_PYTHON,
                          "--out", str(out))  # fmt: skip


@pytest.mark.parametrize("fmt", ["msi", "setup"])
def test_an_existing_windows_installer_is_refused_before_python_is_fetched_or_cargo_runs(
    tmp_path: Path, fmt: str
) -> None:
    crate = uncompilable_hello(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    existing = out / ("hello-0.1.0-x64.msi" if fmt == "msi" else "hello-0.1.0-setup.exe")
    _make_existing(existing, directory=False)
    _refused_before_cargo(crate, existing, "--target", WINDOWS, "--python", "3.11",
                          "--format", fmt, "--out", str(out))  # fmt: skip


def test_an_existing_output_of_one_of_several_targets_is_refused_before_any_is_built(
    tmp_path: Path,
) -> None:
    crate = uncompilable_hello(tmp_path)
    out = tmp_path / "out"
    existing = out / WINDOWS / "hello.zip"
    existing.parent.mkdir(parents=True)
    _make_existing(existing, directory=False)
    _refused_before_cargo(crate, existing, "--target", f"x86_64-unknown-linux-gnu,{WINDOWS}",
                          "--format", "zip", "--out", str(out))  # fmt: skip


def _make_existing(path: Path, *, directory: bool) -> None:
    if directory:
        path.mkdir()
        (path / "mine").write_text("a user's")
    else:
        path.write_text("a user's")


def test_without_out_a_folder_bundle_goes_to_dist(hello_binary: Path, tmp_path: Path) -> None:
    completed = run_packager("bundle", str(hello_binary), environ=bundle_environ(), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    name = hello_binary.name  # the folder, its SBOM beside it, and the checksums of both
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/*")) == sorted(
        [f"dist/{name}", f"dist/{name}.cdx.json", "dist/SHA256SUMS"]
    )


def test_without_out_a_onefile_bundle_goes_to_dist(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _bundle(SAMPLES / "hello", "--onefile", cwd=work)
    listed = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    assert listed == ["dist", "dist/hello", "dist/hello.cdx.json"]
