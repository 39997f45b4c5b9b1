"""PE reader and Windows DLL resolution, on real files from build_fixtures.sh."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.binary import ResolveContext, resolve_needed
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary
from tests.helpers import read_single

MINGW_APP_NEEDED = ("python311.dll", "KERNEL32.dll", "msvcrt.dll")
APP_PY_NEEDED = ("PyRun_SimpleString", "Py_FinalizeEx", "Py_Initialize")


@pytest.fixture(scope="module")
def pe_dir(macho_pe_fixtures: Path) -> Path:
    return macho_pe_fixtures / "pe"


def _only(path: Path) -> ParsedBinary:
    return read_single(path, BinaryFormat.PE)


def test_interpreter_dll(pe_dir: Path) -> None:
    parsed = _only(pe_dir / "python311.dll")
    assert (parsed.format, parsed.arch, parsed.kind) == (
        BinaryFormat.PE,
        "x86_64",
        BinaryKind.SHARED_LIBRARY,
    )
    assert parsed.soname == "python311.dll"
    assert parsed.needed == ()  # linked with -nostdlib
    assert {"Py_Initialize", "PyRun_SimpleString", "_Py_Dealloc"} <= set(parsed.symbols.exported)
    assert parsed.symbols.needed == parsed.symbols.pyinit == ()
    assert (parsed.rpaths, parsed.runpath) == ((), False)
    # No Py_Version export here: the version comes from PY_VERSION next to "cpython-311".
    assert parsed.embedded_python_version == "3.11.4"


def test_application_importing_python311(pe_dir: Path) -> None:
    parsed = _only(pe_dir / "bundled" / "app.exe")
    assert (parsed.arch, parsed.kind) == ("x86_64", BinaryKind.EXECUTABLE)
    assert parsed.needed == MINGW_APP_NEEDED
    # Only names from the Python DLL: KERNEL32/msvcrt imports are not Python's.
    assert parsed.symbols.needed == APP_PY_NEEDED
    assert parsed.symbols.exported == ()
    assert parsed.soname is None
    assert parsed.embedded_python_version is None


def test_extension_module(pe_dir: Path) -> None:
    parsed = _only(pe_dir / "ext.pyd")
    assert parsed.kind is BinaryKind.SHARED_LIBRARY
    assert parsed.needed[0] == "python311.dll"
    assert parsed.symbols.exported == parsed.symbols.pyinit == ("PyInit_ext",)
    assert parsed.symbols.needed == ("PyLong_FromLong", "PyModule_Create2")


def test_stable_abi_extension_imports_python3_dll(pe_dir: Path) -> None:
    parsed = _only(pe_dir / "abi3.pyd")
    assert "python3.dll" in parsed.needed
    assert "python311.dll" not in parsed.needed
    assert parsed.symbols.needed == ("PyModule_Create2",)
    assert parsed.symbols.pyinit == ("PyInit_abi3",)


def test_delay_loaded_python_dll_is_needed(pe_dir: Path) -> None:
    parsed = _only(pe_dir / "delay.exe")
    assert parsed.needed == ("KERNEL32.dll", "python311.dll")
    assert parsed.symbols.needed == ("PyRun_SimpleString", "Py_Initialize")


def test_python_dll_beside_the_exe_resolves_case_insensitively(pe_dir: Path) -> None:
    app = pe_dir / "bundled" / "app.exe"
    needed = resolve_needed(_only(app), str(app), ResolveContext())
    assert [(n.name, n.resolved_path, n.system) for n in needed] == [
        ("python311.dll", str(pe_dir / "bundled" / "PYTHON311.DLL"), False),
        ("KERNEL32.dll", None, True),
        ("msvcrt.dll", None, True),
    ]


def test_python_dll_not_beside_the_exe_is_unresolved(pe_dir: Path) -> None:
    app = pe_dir / "alone" / "app.exe"
    needed = resolve_needed(_only(app), str(app), ResolveContext())
    assert [(n.name, n.resolved_path, n.system) for n in needed] == [
        ("python311.dll", None, False),
        ("KERNEL32.dll", None, True),
        ("msvcrt.dll", None, True),
    ]
