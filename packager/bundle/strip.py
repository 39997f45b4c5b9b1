"""Strip the ELF files a bundle ships (the binary, libpython, extension modules).

`strip --strip-unneeded` drops the static symbol table and debug sections but never the
dynamic symbol table, so everything the loader and extension modules look up (the whole
exported Python C API of libpython, each module's PyInit_*) still resolves. What is lost
is what debuggers and profilers read: backtraces show addresses instead of function names
(`--no-strip` keeps them). Only copies are stripped, never the files they came from.
Files for another machine (a bundle for a cross target) are stripped by that machine's
binutils (`<multiarch>-strip`): the host's strip knows only its own machine.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Sequence

from packager.binary.elf_head import elf_machine
from packager.core import runner
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.targets import host_arch, linux_target_for

_STRIP_FIX = "install binutils (Debian: apt-get install binutils), or pass --no-strip"
# auditwheel repair copies a wheel's libraries into PACKAGE.libs/ (delocate: .dylibs) and
# renames them with a hash (libgfortran-040039e1.so.5.0.0); patchelf has rewritten their
# headers, and strip run over such a file can leave segments the loader refuses.
_HASHED_NAME = re.compile(r".+-[0-9a-f]{8}\.so(\.[0-9]+)*")


def repaired_by_a_wheel_tool(path: str) -> bool:
    """Whether `path` is a library auditwheel (or a tool like it) grafted into a wheel."""
    parts = path.replace(os.sep, "/").split("/")
    return any(part.endswith(".libs") for part in parts[:-1]) or bool(
        _HASHED_NAME.fullmatch(parts[-1])
    )


def to_strip(paths: Iterable[str], root: str, keep: Iterable[str] = ()) -> list[str]:
    """`paths` minus the files left as they are: those a wheel tool repaired, and those
    whose path under `root` (or name) matches one of the `keep` shell patterns."""
    patterns = tuple(keep)
    chosen: list[str] = []
    for path in paths:
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        if repaired_by_a_wheel_tool(relative):
            continue
        name = os.path.basename(path)
        if any(fnmatch.fnmatchcase(relative, p) or fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        chosen.append(path)
    return chosen


def strip_files(paths: Sequence[str], ctx: Context, *, keep_symbols: Iterable[str] = ()) -> None:
    """Strip `paths` in place, in one run of strip; symbols matching `keep_symbols`
    (shell wildcards) stay in .symtab.

    Kept symbols matter for executables, which export little: `packager check
    --expect-module` looks for a crate's own PyInit_* there.
    """
    if not paths:
        return
    flags = [f"--keep-symbol={pattern}" for pattern in sorted(set(keep_symbols))]
    if flags:
        flags.insert(0, "--wildcard")
    by_machine: dict[str, list[str]] = {}
    for path in paths:
        by_machine.setdefault(elf_machine(path) or host_arch(), []).append(path)
    for machine, files in sorted(by_machine.items()):
        strip = strip_tool(machine, files[0], ctx)
        runner.run([strip, "--strip-unneeded", *flags, *files], environ=ctx.environ, echo=ctx.echo)


def strip_tool(machine: str, example: str, ctx: Context) -> str:
    """This host's strip for its own files, the cross binutils' strip for another machine's
    (`example` is a file of that machine, named if there is no strip for it)."""
    if machine == host_arch():
        return runner.require("strip", ctx.environ, fix=_STRIP_FIX)
    target = linux_target_for(machine)
    package = target.binutils_package if target is not None else None
    if target is not None and package is not None:
        return runner.require(
            f"{target.multiarch}-strip",
            ctx.environ,
            fix=f"install {package} (Debian: apt-get install {package}), or pass --no-strip",
        )
    raise UsageError(
        f"no strip for {machine} files on this {host_arch()} machine",
        path=example,
        fix="pass --no-strip",
    )
