"""Strip the ELF files a bundle ships (the binary, libpython, extension modules).

`strip --strip-unneeded` drops the static symbol table and debug sections but never the
dynamic symbol table, so everything the loader and extension modules look up (the whole
exported Python C API of libpython, each module's PyInit_*) still resolves. What is lost
is what debuggers and profilers read: backtraces show addresses instead of function names
(`--no-strip` keeps them). Only copies are stripped, never the files they came from.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from packager import runner
from packager.context import Context

_STRIP_FIX = "install binutils (Debian: apt-get install binutils), or pass --no-strip"
_ELF_MAGIC = b"\x7fELF"


def is_elf(path: str) -> bool:
    """Whether `path` is a regular file that starts with the ELF magic number."""
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    with open(path, "rb") as handle:
        return handle.read(4) == _ELF_MAGIC


def elf_files_under(root: str) -> list[str]:
    """Every ELF file under `root` (shared objects of any name), sorted."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        found.extend(
            path
            for path in (os.path.join(directory, name) for name in sorted(files))
            if is_elf(path)
        )
    return found


def strip_files(paths: Sequence[str], ctx: Context, *, keep_symbols: Iterable[str] = ()) -> None:
    """Strip `paths` in place, in one run of strip; symbols matching `keep_symbols`
    (shell wildcards) stay in .symtab.

    Kept symbols matter for executables, which export little: `packager check
    --expect-module` looks for a crate's own PyInit_* there.
    """
    if not paths:
        return
    strip = runner.require("strip", ctx.environ, fix=_STRIP_FIX)
    flags = [f"--keep-symbol={pattern}" for pattern in sorted(set(keep_symbols))]
    if flags:
        flags.insert(0, "--wildcard")
    runner.run([strip, "--strip-unneeded", *flags, *paths], environ=ctx.environ, echo=ctx.echo)
