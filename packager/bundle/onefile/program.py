"""The static program a onefile build starts from: checked, stripped, then given its payload.

The checks run on the working copy before any other work, so a binary that could never
start from a payload is refused at once; errors name the binary the user gave (`shown`).
"""

from __future__ import annotations

from collections.abc import Mapping

from packager.binary.checks import check_result
from packager.binary.elf_head import elf_machine
from packager.binary.inspect import inspect_paths
from packager.binary.model import BinaryReport, LinkMode
from packager.binary.onefile_markers import SLOT_MAGIC
from packager.binary.onefile_payload import find_slot, read_payload, read_slot, seal
from packager.bundle.strip import strip_tool
from packager.core import runner
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.targets import host_arch


def checked_static(program: str, *, shown: str, environ: Mapping[str, str]) -> BinaryReport:
    """The report of `program`, which must embed Python statically and export its API."""
    checked = check_result(inspect_paths([program], environ=environ, jobs=1))
    if checked.errors:
        raise UsageError(checked.errors[0].message, path=shown)
    report = checked.binaries[0]
    if report.link_mode is not LinkMode.STATIC:
        raise UsageError(
            f"a onefile program needs the interpreter linked in, but this binary's link "
            f"mode is {report.link_mode.value}",
            path=shown,
            fix="build it with `packager build --mode static`, or pass the crate directory",
        )
    unexported = [f for f in report.findings if f.code == "PKG101"]
    if unexported:
        raise UsageError(unexported[0].message, path=shown, fix=unexported[0].fix)
    return report


def check_slot(program: str, *, shown: str) -> None:
    """Refuse a program that could not start from a payload, before any work is done."""
    with open(program, "rb") as handle:
        data = handle.read()
    slot = find_slot(data)
    if slot is None:
        raise UsageError(
            "the program was not built by `packager build`: it lacks packager's start-up "
            "code, so it would not find the modules appended to it",
            path=shown,
            fix="build it with `packager build --mode static` (the crate needs no change), "
            "or pass the crate directory",
        )
    if data.find(SLOT_MAGIC, slot + 1) >= 0:
        raise UsageError("the program holds more than one payload slot", path=shown)
    if read_slot(data, slot).format != 0:
        raise UsageError(
            "the binary is already a onefile program",
            path=shown,
            fix="pass the static binary that `packager build` wrote",
        )


def strip_program(program: str, ctx: Context) -> None:
    """Strip `program` in place with the strip tool for its machine."""
    tool = strip_tool(elf_machine(program) or host_arch(), program, ctx)
    # .symtab and debug info go; .dynsym stays, so extension modules still link.
    runner.run([tool, program], environ=ctx.environ, echo=ctx.echo)


def append_payload(program: str, zipped: bytes, *, shown: str) -> int:
    """Patch the program's slot for `zipped` and append it; the program's size.

    `shown` is the file errors name: the binary the user gave, not the working copy.
    """
    with open(program, "r+b") as handle:
        data = handle.read()
        slot = find_slot(data)
        if slot is None:
            raise UsageError("the program lost its payload slot when it was stripped", path=shown)
        executable_size = len(data)
        handle.seek(slot)
        handle.write(seal(zipped, executable_size).pack())
        handle.seek(executable_size)
        handle.write(zipped)
    return executable_size


def require_readable(program: str, out: str) -> None:
    """Read the payload back as `inspect` and the start-up code will, before publishing."""
    written = read_payload(program)
    if written is None or written.problem is not None:
        detail = written.problem if written is not None else "no payload found"
        raise UsageError(f"the onefile program does not read back: {detail}", path=out)
