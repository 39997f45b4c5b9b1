"""Shared timing helpers for the benchmarks: median wall time of interleaved runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence


def packager_command() -> list[str]:
    """The installed `packager` script beside this interpreter: what users run.

    It runs from byte-compiled files installed by pip; `python -m packager` from a source
    tree may recompile every module on each run when PYTHONDONTWRITEBYTECODE is set.
    """
    script = os.path.join(os.path.dirname(sys.executable), "packager")
    if not os.path.exists(script):
        raise SystemExit(
            f"{sys.executable} has no packager installed beside it ({script}): run the "
            "benchmark with the python of the environment packager is installed in, e.g. "
            "~/.local/share/packager/bin/python bench/bench_inspect.py (see bench/README.md)"
        )
    return [script]


def wall_time(argv: Sequence[str], *, stdin: int | None = subprocess.DEVNULL) -> float:
    """Seconds one run of `argv` takes, output discarded; fails loudly on a non-zero exit."""
    start = time.perf_counter()
    completed = subprocess.run(
        argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({completed.returncode}): {completed.stderr[-500:]!r}")
    return elapsed


def compare(
    name: str, ours: Sequence[str], peer: Sequence[str], peer_name: str, *, runs: int, target: float
) -> bool:
    """Time `ours` and `peer` interleaved, print medians and the ratio; True if within target."""
    wall_time(ours)  # warm the page cache for both before measuring
    wall_time(peer)
    our_times, peer_times = [], []
    for _ in range(runs):
        our_times.append(wall_time(ours))
        peer_times.append(wall_time(peer))
    our_median = statistics.median(our_times)
    peer_median = statistics.median(peer_times)
    ratio = our_median / peer_median
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(
        f"{name}: packager {our_median * 1000:.1f} ms, {peer_name} {peer_median * 1000:.1f} ms, "
        f"ratio {ratio:.2f} (target <= {target:.3g}) {verdict}"
    )
    return ratio <= target


def compare_values(
    name: str, ours: float, peer: float, peer_name: str, *, unit: str, target: float
) -> bool:
    """Print two measured values and their ratio against the target; True if within it."""
    ratio = ours / peer
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(
        f"{name}: packager {ours:.2f} {unit}, {peer_name} {peer:.2f} {unit}, "
        f"ratio {ratio:.2f} (target <= {target:.3g}) {verdict}"
    )
    return ratio <= target
