"""Benchmarks for `packager inspect` and start-up, each as a ratio against a peer.

    python3 bench/bench_inspect.py [--runs N]

Targets (issue: inspect/check):
- inspect --json /usr/bin/python3.11  <= 3x   readelf -dW --dyn-syms /usr/bin/python3.11
- inspect every ELF file in /usr/lib/x86_64-linux-gnu  <= 1x  readelf over the same files
  (with the default worker choice, and with -j1 to show what the choice is worth)
- packager --help  <= 1.5x  python -c "import click"
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from common import compare, packager_command

SUBJECT = "/usr/bin/python3.11"
LIBDIR = "/usr/lib/x86_64-linux-gnu"


def elf_files(top: str) -> list[str]:
    """Regular (non-symlink) ELF files directly and recursively under `top`."""
    found = []
    for directory, _, names in os.walk(top):
        for name in sorted(names):
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as handle:
                    if handle.read(4) == b"\x7fELF":
                        found.append(path)
            except OSError:
                continue
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    readelf = shutil.which("readelf")
    if readelf is None:
        raise SystemExit("readelf not found: apt-get install binutils")
    packager = packager_command()
    results = [
        compare(
            "inspect python3.11",
            [*packager, "inspect", "--json", SUBJECT],
            [readelf, "-dW", "--dyn-syms", SUBJECT],
            "readelf",
            runs=args.runs,
            target=3.0,
        )
    ]
    files = elf_files(LIBDIR)
    print(f"{len(files)} ELF files under {LIBDIR}")
    for name, jobs in (("inspect libdir", []), ("inspect libdir -j1", ["-j1"])):
        results.append(
            compare(
                name,
                [*packager, "inspect", "--json", *jobs, *files],
                [readelf, "-dW", "--dyn-syms", *files],
                "readelf",
                runs=max(3, args.runs // 3),
                target=1.0,
            )
        )
    results.append(
        compare(
            "--help",
            [*packager, "--help"],
            [sys.executable, "-c", "import click"],
            "import click",
            runs=args.runs,
            target=1.5,
        )
    )
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
