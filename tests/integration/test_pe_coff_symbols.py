"""PyInit_* names from a PE file's COFF symbol table: a MinGW program's own modules.

A program built with mingw-w64 defines PyInit_demo without exporting it, as a Rust
program's #[pymodule] is; stripped, or with a symbol table pointing past the end of the
file, it reports none and is still read.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from packager.binary.inspect import inspect_paths
from packager.binary.model import BinaryReport

pytestmark = pytest.mark.integration

PROGRAM = r"""
void *PyInit_demo(void) { return 0; }
int Py_Helper(int x) { return x + 1; }
int main(void) { return PyInit_demo() != 0 || Py_Helper(1) != 2; }
"""


def _build(tmp_path: Path, *flags: str) -> Path:
    source = tmp_path / "demo.c"
    source.write_text(PROGRAM)
    program = tmp_path / f"demo{len(flags)}.exe"
    subprocess.run(
        ["x86_64-w64-mingw32-gcc", "-O0", *flags, "-o", str(program), str(source)], check=True
    )
    return program


def _report(path: Path) -> BinaryReport:
    result = inspect_paths([str(path)], environ={}, jobs=1)
    assert not result.errors, result.errors
    return result.binaries[0]


def test_defined_names_come_from_the_symbol_table(tmp_path: Path) -> None:
    symbols = _report(_build(tmp_path)).symbols
    assert symbols.pyinit == ("PyInit_demo",)
    assert {"PyInit_demo", "Py_Helper"} <= set(symbols.local)
    assert symbols.exported == ()


def test_stripped_program_has_none(tmp_path: Path) -> None:
    symbols = _report(_build(tmp_path, "-s")).symbols
    assert (symbols.pyinit, symbols.local) == ((), ())


@pytest.mark.parametrize("pointer", [0xFFFFFF00, 0])
def test_symbol_table_past_the_end_is_ignored(tmp_path: Path, pointer: int) -> None:
    program = _build(tmp_path)
    data = bytearray(program.read_bytes())
    pe_offset = int.from_bytes(data[0x3C:0x40], "little")
    # IMAGE_FILE_HEADER.PointerToSymbolTable: 8 bytes after the 4-byte signature.
    data[pe_offset + 12 : pe_offset + 16] = pointer.to_bytes(4, "little")
    program.write_bytes(bytes(data))
    assert _report(program).symbols.pyinit == ()
