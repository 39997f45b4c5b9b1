"""Benchmark for `packager runtime build`: cold build or warm selection, start-up, size.

    python3 bench/bench_runtime.py [--python 3.11] [--runs N]

With no runtime in the cache, times the cold build (target: <= 15 minutes on 2 cores);
with one, times the warm `packager runtime build` and `packager config --python
runtime:3.X` (target: <= 1 s). Then the runtime's `python3.X -I -S -c pass` against
Debian's /usr/bin/python3.11 (--peer) in the same run (target ratio <= 1.5: a shared libpython
costs relocations at start-up), and the size of the install tree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import compare, packager_command

COLD_TARGET_S = 15 * 60
WARM_TARGET_S = 1.0


def runtime_build(python: str) -> tuple[dict[str, object], float]:
    """Run `packager runtime build --json`; its document and the wall time it took."""
    start = time.perf_counter()
    done = subprocess.run(
        [*packager_command(), "runtime", "build", "--python", python, "--glibc", "2.17", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"packager runtime build failed:\n{done.stderr[-3000:]}")
    document: dict[str, object] = json.loads(done.stdout)
    return document, elapsed


def tree_size(prefix: str) -> tuple[int, int]:
    """Bytes and file count of the regular files under `prefix`."""
    total = count = 0
    for directory, _, files in os.walk(prefix):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
                count += 1
    return total, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", default="3.11")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--peer", default="/usr/bin/python3.11", help="Debian's interpreter.")
    args = parser.parse_args()
    ok = True

    document, elapsed = runtime_build(args.python)
    if document["cached"]:
        _, warm = runtime_build(args.python)
        start = time.perf_counter()
        subprocess.run(
            [*packager_command(), "config", "--python", f"runtime:{args.python}"],
            capture_output=True,
            check=True,
        )
        select = time.perf_counter() - start
        print(
            f"warm runtime build: {warm:.2f} s; config --python runtime:{args.python}: "
            f"{select:.2f} s (target <= {WARM_TARGET_S:.0f} s)"
        )
        ok &= max(warm, select) <= WARM_TARGET_S
    else:
        print(f"cold runtime build: {elapsed / 60:.1f} min (target <= {COLD_TARGET_S // 60} min)")
        ok &= elapsed <= COLD_TARGET_S

    ours = str(document["executable"])
    peer = args.peer
    if not Path(peer).exists():
        raise SystemExit(f"{peer} not found: apt-get install {Path(peer).name}")
    ok &= compare(
        f"start-up (-I -S -c pass, Python {args.python})",
        [ours, "-I", "-S", "-c", "pass"],
        [peer, "-I", "-S", "-c", "pass"],
        f"Debian {Path(peer).name}",
        runs=args.runs,
        target=1.5,
    )
    size, files = tree_size(str(document["prefix"]))
    print(f"install tree: {size / 2**20:.1f} MiB in {files} files ({document['prefix']})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
