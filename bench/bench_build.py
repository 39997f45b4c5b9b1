"""Benchmark for `packager build`: a no-op build against a no-op `cargo build`.

    python3 bench/bench_build.py [--runs N]

Target (issue: build): a no-op `packager build` <= 1.15x a no-op `cargo build` of the same
crate with the same flags. Also prints the release binary size of both link modes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import compare, packager_command

REPO = Path(__file__).resolve().parent.parent
STATIC_PYTHON = "/usr/bin/python3.11"


def build(crate: Path, environ: dict[str, str], *args: str) -> dict[str, object]:
    """Run `packager build --json` and return its document."""
    done = subprocess.run(
        [*packager_command(), "build", str(crate), "--json", "-q", *args],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"packager build failed:\n{done.stderr[-2000:]}")
    document: dict[str, object] = json.loads(done.stdout)
    return document


def cargo_command(crate: Path, environ: dict[str, str], document: dict[str, object]) -> list[str]:
    """The cargo invocation packager ran, so the peer does exactly the same no-op work."""
    # pyo3's build scripts rerun when these change, so both sides must set them alike.
    environ["PYO3_CONFIG_FILE"] = str(document["config_file"])
    environ["PYO3_PYTHON"] = str(document["interpreter"])
    return ["cargo", "build", "--release", "--manifest-path", str(crate / "Cargo.toml")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        crate = Path(scratch) / "hello"
        shutil.copytree(REPO / "samples" / "hello", crate)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("PYO3_")}
        environ["CARGO_TARGET_DIR"] = str(Path(scratch) / "target")
        sizes = {}
        for mode, extra in (("static", ["--python", STATIC_PYTHON]), ("dynamic", [])):
            document = build(crate, environ, "--release", "--mode", mode, *extra)
            binaries = document["binaries"]
            assert isinstance(binaries, list)
            sizes[mode] = binaries[0]["size"]
        # The last build was dynamic: both sides now repeat it with nothing changed.
        ours = [*packager_command(), "build", str(crate), "-q", "--release"]
        cargo_environ = dict(environ)
        cargo_environ["CARGO_ENCODED_RUSTFLAGS"] = _encoded_rustflags(document)
        peer = cargo_command(crate, cargo_environ, document)
        within = compare_with_env(ours, environ, peer, cargo_environ, args.runs)
        for mode, size in sizes.items():
            print(f"release binary, {mode}: {size / 1e6:.2f} MB")
    return 0 if within else 1


def _encoded_rustflags(document: dict[str, object]) -> str:
    check = document["check"]
    assert isinstance(check, dict)
    binary = check["binaries"][0]
    libpython = binary["libpython"]
    return f"-Clink-arg=-Wl,-rpath,{os.path.dirname(libpython['resolved_path'])}"


def compare_with_env(
    ours: list[str], our_env: dict[str, str], peer: list[str], peer_env: dict[str, str], runs: int
) -> bool:
    """compare() with a separate environment for each side."""
    return compare(
        "no-op build",
        ["env", "-i", *(f"{k}={v}" for k, v in our_env.items()), *ours],
        ["env", "-i", *(f"{k}={v}" for k, v in peer_env.items()), *peer],
        "cargo build",
        runs=runs,
        target=1.15,
    )


if __name__ == "__main__":
    sys.exit(main())
