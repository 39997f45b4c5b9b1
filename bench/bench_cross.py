"""Build + bundle time of samples/hello per target, and for every target in one run.

    python3 bench/bench_cross.py [--runs N] [--arm64-root DIR] [--windows-home DIR] [--source]

Each run is `packager bundle samples/hello --format dir,tar.zst` (a release build, then the
bundle), for this machine, for aarch64-unknown-linux-gnu (its portable runtime, built
into the empty cache on a cold run, or --arm64-root) and for x86_64-pc-windows-gnu
(--python 3.11: the embeddable CPython packager fetches, or --windows-home), and for all
three with one comma-separated --target. The peers, measured in the same run: the native
bundle for each target, and the sum of the three single-target runs for the all-targets
run:
- cold: an empty cargo target directory and an empty packager cache (XDG_CACHE_HOME)
  per target: the whole dependency graph is compiled and the runtime prepared (for
  aarch64: its portable runtime and the x86_64 one it is built with, about 8 minutes on 2
  cores); one run of each, one after the other.
- warm: the same directories again: a no-op cargo build and the prepared runtime from the
  cache; the median of N runs, interleaved, so a change of load hits all three alike.
The three directories take about 400 MB in the temporary directory while it runs. No
target: the figures say what a cross bundle costs next to a native one.
`--source` runs this checkout (`python -m packager`) instead of the installed script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import packager_command

REPO = Path(__file__).resolve().parent.parent
HELLO = REPO / "samples" / "hello"
NATIVE = "native"
EVERY = "every target"
TRIPLES = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-pc-windows-gnu")


def bundle_seconds(
    command: list[str], target: tuple[str, ...], work: Path, out: Path, environ: dict[str, str]
) -> float:
    """Seconds one `packager bundle` of hello takes, with `work` as the cargo target dir and
    the cache's home; fails loudly on a non-zero exit."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**environ, "CARGO_TARGET_DIR": str(work / "target"), "XDG_CACHE_HOME": str(work)}
    argv = [*command, "bundle", str(HELLO), *target, "--format", "dir,tar.zst", "--out", str(out)]
    start = time.perf_counter()
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{completed.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--arm64-root", type=Path, default=None)
    parser.add_argument("--windows-home", type=Path, default=None)
    parser.add_argument("--source", action="store_true", help="run this checkout's packager")
    options = parser.parse_args()
    environ = dict(os.environ)
    command = packager_command() if not options.source else [sys.executable, "-m", "packager"]
    if options.source:
        environ["PYTHONPATH"] = str(REPO)
    aarch64 = ("--python-home", str(options.arm64_root)) if options.arm64_root else ()
    windows = ("--python-home", str(options.windows_home)) if options.windows_home else ()
    targets: dict[str, tuple[str, ...]] = {
        NATIVE: (),
        "aarch64": ("--target", TRIPLES[1], *aarch64),
        "windows": ("--target", TRIPLES[2], *(windows or ("--python", "3.11"))),
        EVERY: ("--target", ",".join(TRIPLES), "--python", "3.11"),
    }
    with tempfile.TemporaryDirectory(prefix="bench-cross-") as temporary:
        base = Path(temporary)

        def run(name: str) -> float:
            # No space in the work path: rustc's dlltool call for Windows cannot take one.
            work = base / name.replace(" ", "-")
            return bundle_seconds(command, targets[name], work, base / "out", environ)

        cold = {name: run(name) for name in targets}
        warm: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(options.runs):
            for name in targets:
                warm[name].append(run(name))
    singles = [name for name in targets if name != EVERY]
    native = statistics.median(warm[NATIVE])
    for name in singles:
        median = statistics.median(warm[name])
        print(
            f"{name}: cold {cold[name]:.1f} s (native {cold[NATIVE]:.1f} s, ratio "
            f"{cold[name] / cold[NATIVE]:.2f}); warm {median:.2f} s (native {native:.2f} s, "
            f"ratio {median / native:.2f}; median of {options.runs})"
        )
    cold_sum = sum(cold[name] for name in singles)
    warm_sum = sum(statistics.median(warm[name]) for name in singles)
    every = statistics.median(warm[EVERY])
    print(
        f"{EVERY}: cold {cold[EVERY]:.1f} s (the three alone: {cold_sum:.1f} s, ratio "
        f"{cold[EVERY] / cold_sum:.2f}); warm {every:.2f} s (the three alone: {warm_sum:.2f} s, "
        f"ratio {every / warm_sum:.2f}; median of {options.runs})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
