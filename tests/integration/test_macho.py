"""Mach-O reader and dyld resolution on real files from build_fixtures.sh (clang, ld64.lld)."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.binary import ResolveContext, read_binary, resolve_needed
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary
from tests.helpers import read_single
from tests.unit.test_macho import APP_PY_NEEDED, FRAMEWORK, HELPER, LIBSYSTEM


@pytest.fixture(scope="module")
def macho_dir(macho_pe_fixtures: Path) -> Path:
    return macho_pe_fixtures / "macho"


def _only(path: Path) -> ParsedBinary:
    return read_single(path, BinaryFormat.MACHO)


def test_framework_dylib(macho_dir: Path) -> None:
    parsed = _only(macho_dir / "Python3")
    assert (parsed.format, parsed.arch, parsed.kind) == (
        BinaryFormat.MACHO,
        "x86_64",
        BinaryKind.SHARED_LIBRARY,
    )
    assert parsed.soname == FRAMEWORK
    assert parsed.needed == (LIBSYSTEM,)
    assert parsed.symbols.exported == (
        "PyLong_FromLong",
        "PyRun_SimpleString",
        "Py_FinalizeEx",
        "Py_Initialize",
        "Py_Version",
        "_Py_Dealloc",
    )
    assert parsed.symbols.local == ("_PyHidden_Helper",)  # visibility("hidden")
    assert parsed.embedded_python_version == "3.11.9"  # read from Py_Version's bytes


def test_executable_with_rpath(macho_dir: Path) -> None:
    parsed = _only(macho_dir / "withrpath" / "Contents" / "MacOS" / "app")
    assert (parsed.arch, parsed.kind) == ("x86_64", BinaryKind.EXECUTABLE)
    assert parsed.needed == (LIBSYSTEM, FRAMEWORK, HELPER)
    assert parsed.rpaths == ("@executable_path/../Frameworks",)
    assert parsed.runpath is False
    assert parsed.symbols.needed == APP_PY_NEEDED
    assert parsed.symbols.exported == parsed.symbols.pyinit == ()
    assert parsed.embedded_python_version is None  # it only calls into the framework


def test_executable_without_rpath(macho_dir: Path) -> None:
    parsed = _only(macho_dir / "norpath" / "app")
    assert parsed.needed == (LIBSYSTEM, FRAMEWORK, HELPER)
    assert parsed.rpaths == ()


def test_bundle_extension(macho_dir: Path) -> None:
    parsed = _only(macho_dir / "ext.so")
    assert parsed.kind is BinaryKind.MACHO_BUNDLE
    assert parsed.needed == ()  # -undefined dynamic_lookup: Py* come from the host process
    assert parsed.symbols.pyinit == ("PyInit_ext",)
    assert parsed.symbols.exported == ("PyInit_ext",)
    assert parsed.symbols.needed == ("PyLong_FromLong",)


def test_arm64_executable(macho_dir: Path) -> None:
    parsed = _only(macho_dir / "app_arm64")
    assert parsed.arch == "arm64"
    assert parsed.rpaths == ("@executable_path/../Frameworks",)
    assert parsed.symbols.needed == APP_PY_NEEDED


def test_universal_file_has_two_slices(macho_dir: Path) -> None:
    binary_format, slices = read_binary(str(macho_dir / "app_universal"))
    assert binary_format is BinaryFormat.MACHO
    assert [(s.arch, s.slice_index, s.universal) for s in slices] == [
        ("x86_64", 0, True),
        ("arm64", 1, True),
    ]
    for piece in slices:
        assert piece.needed == (LIBSYSTEM, FRAMEWORK, HELPER)
        assert piece.symbols.needed == APP_PY_NEEDED


def test_resolution_with_rpath_finds_the_framework(macho_dir: Path) -> None:
    app = macho_dir / "withrpath" / "Contents" / "MacOS" / "app"
    needed = resolve_needed(_only(app), str(app), ResolveContext())
    contents = macho_dir / "withrpath" / "Contents"
    framework_file = contents / "Frameworks/Python3.framework/Versions/3.11/Python3"
    assert [(n.name, n.resolved_path, n.system) for n in needed] == [
        (LIBSYSTEM, None, True),
        (FRAMEWORK, str(framework_file.resolve()), False),
        (HELPER, str((contents / "lib" / "libhelper.dylib").resolve()), False),
    ]


def test_resolution_without_rpath_leaves_the_framework_unresolved(macho_dir: Path) -> None:
    app = macho_dir / "norpath" / "app"
    needed = resolve_needed(_only(app), str(app), ResolveContext())
    assert [(n.name, n.resolved_path, n.system) for n in needed] == [
        (LIBSYSTEM, None, True),
        (FRAMEWORK, None, False),
        (HELPER, None, False),
    ]
