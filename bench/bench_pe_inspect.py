"""Benchmarks for `packager inspect` over PE files, each as a ratio against a peer.

    python3 bench/bench_pe_inspect.py [--runs N]

Targets (issue #21, "Inspect"):
- inspect --json every PE file under /usr/lib/x86_64-linux-gnu (wine's DLLs)
  <= 1x  objdump -p over the same files (headers, imports and exports)
- inspect --json /usr/lib/x86_64-linux-gnu, the whole tree (ELF, PE and the rest)
  <= 1x  readelf -dW --dyn-syms over its ELF files
"""

from __future__ import annotations

import argparse
import shutil
import sys

from bench_inspect import LIBDIR, elf_files
from common import compare, packager_command

from packager.binary.pe_head import pe_files_under


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    objdump, readelf = shutil.which("objdump"), shutil.which("readelf")
    if objdump is None or readelf is None:
        raise SystemExit("objdump or readelf not found: apt-get install binutils")
    packager = packager_command()
    pe_files = pe_files_under(LIBDIR)
    if not pe_files:
        raise SystemExit(f"no PE files under {LIBDIR}: apt-get install wine64 (its DLLs)")
    print(f"{len(pe_files)} PE files under {LIBDIR}")
    results = [
        compare(
            "inspect PE files",
            [*packager, "inspect", "--json", *pe_files],
            [objdump, "-p", *pe_files],
            "objdump -p",
            runs=args.runs,
            target=1.0,
        )
    ]
    elf = elf_files(LIBDIR)
    print(f"{len(elf)} ELF files under {LIBDIR}")
    results.append(
        compare(
            "inspect the whole tree",
            [*packager, "inspect", "--json", LIBDIR],
            [readelf, "-dW", "--dyn-syms", *elf],
            "readelf",
            runs=args.runs,
            target=1.0,
        )
    )
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
