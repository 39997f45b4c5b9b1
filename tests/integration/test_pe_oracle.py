"""packager's PE reader against pefile (tests/pe_oracle.py, the reader it replaced) on every
PE file this machine holds: the fixtures of build_fixtures.sh, programs built here with
and without COFF symbols, wine's DLLs and mingw-w64's. Both must give the same
ParsedBinary values, or both refuse the file.

A missing tree fails the test with the package that provides it: CI installs them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from packager.binary import pe
from packager.binary.model import ParsedBinary
from packager.binary.pe_head import pe_files_under
from packager.core.errors import UnreadableInputError
from tests import pe_oracle
from tests.unit.test_macho_pe_hostile import Parser

SYSTEM_TREES = {
    "wine": (
        ("/usr/lib/x86_64-linux-gnu/wine",),
        "apt-get install libwine (Debian's wine64 depends on it)",
    ),
    "mingw-w64": (
        ("/usr/x86_64-w64-mingw32", "/usr/lib/gcc/x86_64-w64-mingw32"),
        "apt-get install gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev",
    ),
}

# Long names (in the COFF string table) and names of up to eight bytes (in the symbol
# record itself), starting Py and _Py.
PROGRAM = r"""
__declspec(dllexport) int Py_Version = 0x030B04F0;
void *PyInit_demo(void) { return 0; }
int Py_Helper(int x) { return x + 1; }
int Py_Ab(int x) { return x; }
int _Py_B(int x) { return x; }
int main(void) { return PyInit_demo() != 0 || Py_Helper(1) != 2 || Py_Ab(0) || _Py_B(0); }
"""


def _outcome(parser: Parser, path: Path, data: bytes) -> list[ParsedBinary] | str:
    """The images read, or "refused"."""
    try:
        return parser(str(path), data)
    except UnreadableInputError:
        return "refused"


def _assert_read_alike(paths: list[Path]) -> list[ParsedBinary]:
    """Compare both readers on `paths`; the images read, for the caller's own checks."""
    mismatches, images = [], []
    for path in paths:
        data = path.read_bytes()
        ours, oracle = _outcome(pe.parse, path, data), _outcome(pe_oracle.parse, path, data)
        if ours != oracle:
            mismatches.append(f"{path}:\n  packager {ours}\n  pefile   {oracle}")
        elif isinstance(ours, list):
            images.extend(ours)
    assert not mismatches, f"{len(mismatches)} of {len(paths)} differ:\n" + "\n".join(
        mismatches[:5]
    )
    return images


@pytest.mark.parametrize("name", sorted(SYSTEM_TREES))
def test_system_pe_files_read_as_pefile_reads_them(name: str) -> None:
    roots, install = SYSTEM_TREES[name]
    paths = [Path(found) for root in roots for found in pe_files_under(root)]
    if not paths:
        pytest.fail(f"no PE files under {' or '.join(roots)}: {install}")
    images = _assert_read_alike(paths)
    assert any(image.needed for image in images), "no file imports a DLL: nothing compared"
    assert any(image.soname for image in images), "no file exports: nothing compared"


def test_fixtures_read_as_pefile_reads_them(macho_pe_fixtures: Path) -> None:
    paths = [Path(found) for found in pe_files_under(str(macho_pe_fixtures / "pe"))]
    images = _assert_read_alike(paths)
    assert any(image.symbols.needed for image in images)  # Py* imported from python311.dll
    assert any(image.embedded_python_version for image in images)


# Only names of up to eight bytes: no Py in the string table at all.
SHORT_NAMES = r"""
int Py_Ab(int x) { return x; }
int _Py_B(int x) { return x; }
int main(void) { return Py_Ab(0) || _Py_B(0); }
"""


@pytest.mark.parametrize(
    ("source", "flags", "expected"),
    [
        (PROGRAM, (), ("PyInit_demo", "Py_Ab", "Py_Helper", "_Py_B")),
        (PROGRAM, ("-s",), ()),
        (SHORT_NAMES, (), ("Py_Ab", "_Py_B")),
    ],
    ids=["symbols", "stripped", "short-names"],
)
def test_coff_symbols_read_as_pefile_reads_them(
    tmp_path: Path, source: str, flags: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    program = tmp_path / "demo.exe"
    (tmp_path / "demo.c").write_text(source)
    compiler = ["x86_64-w64-mingw32-gcc", "-O0", *flags, "-o", str(program)]
    subprocess.run([*compiler, str(tmp_path / "demo.c")], check=True)
    (image,) = _assert_read_alike([program])
    assert tuple(name for name in image.symbols.local if name in source) == expected
