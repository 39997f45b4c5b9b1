"""What `bundle --verify-on` adds per Debian root, against `--verify` on this host.

    python3 bench/bench_verify_on.py BINARY [--runs N] [--distros bullseye,bookworm]

BINARY is a built program that embeds Python (e.g. samples/hello's release build). Each
run bundles it as dir,tar.zst,installer into a fresh directory: once without verifying,
once with --verify (the sandbox over this host), and once with --verify-on NAME for each
root (made by an untimed first run, so the cold debootstrap, a few minutes, is not
timed). Printed: median seconds of each, the time a root adds to the
bundle, and its ratio to what --verify adds. Target: a root costs <= 1.5x the host's
sandbox (same outputs, same sandbox, another userland underneath). A root whose glibc is
below the bundle's floor is refused before anything is written; its row says so.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import compare_values, packager_command

FORMATS = "dir,tar.zst,installer"


def bundle_seconds(binary: str, work: Path, extra: list[str]) -> float | None:
    """Seconds of one `packager bundle` run; None when it refused a root's glibc."""
    out = Path(tempfile.mkdtemp(dir=work))
    argv = [*packager_command(), "bundle", binary, "--out", str(out), "--format", FORMATS]
    start = time.perf_counter()
    done = subprocess.run([*argv, *extra], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        if "needs glibc" in done.stderr:
            return None
        raise SystemExit(f"packager bundle {' '.join(extra)} failed:\n{done.stderr[-3000:]}")
    return elapsed


def median_seconds(binary: str, work: Path, extra: list[str], runs: int) -> float | None:
    times = [bundle_seconds(binary, work, extra) for _ in range(runs)]
    present = [t for t in times if t is not None]
    return statistics.median(present) if present else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--distros", default="bullseye,bookworm")
    options = parser.parse_args()
    distros = [name for name in options.distros.split(",") if name]
    with tempfile.TemporaryDirectory(prefix="bench-verify-on-") as scratch:
        work = Path(scratch)
        bundle_seconds(options.binary, work, [])  # warm the prepared-runtime cache
        for name in distros:  # make (or find) each root before anything is timed
            bundle_seconds(options.binary, work, ["--verify-on", name])
        plain = median_seconds(options.binary, work, [], options.runs)
        host = median_seconds(options.binary, work, ["--verify"], options.runs)
        assert plain is not None and host is not None
        print(f"bundle ({FORMATS}): {plain:.2f} s; with --verify: {host:.2f} s")
        ok = True
        for name in distros:
            seconds = median_seconds(options.binary, work, ["--verify-on", name], options.runs)
            if seconds is None:
                print(f"--verify-on {name}: refused before writing (its glibc is below the floor)")
                continue
            ok &= compare_values(
                f"--verify-on {name} adds",
                seconds - plain,
                host - plain,
                "--verify adds",
                unit="s",
                target=1.5,
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
