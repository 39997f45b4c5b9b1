"""Portable runtimes for the tests: built once per cache, and their files read."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from packager.core.context import Context
from packager.python.portable import BuildOptions, Runtime, build_runtime, parse_spec


@functools.cache
def built_runtime(version: str) -> Runtime:
    """CPython `version` for glibc 2.17, built with the defaults (Debian's sources) or cached."""
    if shutil.which("tclsh") is None:
        pytest.fail("tclsh is needed to build SQLite from its full source: apt-get install tcl")
    try:
        import ziglang  # noqa: F401  (only its presence is checked)
    except ImportError:
        pytest.fail("zig is needed: pip install ziglang into the test environment")
    return build_runtime(BuildOptions(parse_spec(version, "2.17")), Context(os.environ)).runtime


def elf_files(prefix: str) -> Iterator[Path]:
    for path in sorted(Path(prefix).rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as stream:
                if stream.read(4) == b"\x7fELF":
                    yield path


def objdump_floor(path: Path, objdump: str = "objdump") -> tuple[int, int] | None:
    """The highest GLIBC_x.y among the undefined dynamic symbols, as objdump -T shows them
    (`objdump`: the binutils of the file's machine, aarch64-linux-gnu-objdump for arm64)."""
    output = subprocess.run(
        [objdump, "-T", str(path)], capture_output=True, text=True, check=True
    ).stdout
    versions = [
        (int(major), int(minor))
        for line in output.splitlines()
        if "*UND*" in line
        for major, minor in re.findall(r"GLIBC_(\d+)\.(\d+)", line)
    ]
    return max(versions) if versions else None
