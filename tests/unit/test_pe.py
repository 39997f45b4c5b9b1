"""Windows DLL resolution rules on a laid-out tree (tests/integration reads real PE files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.binary import ResolveContext
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary, PythonSymbolTable
from packager.binary.pe_loader import resolve


def _parsed_pe(needed: tuple[str, ...]) -> ParsedBinary:
    return ParsedBinary(
        format=BinaryFormat.PE,
        arch="x86_64",
        kind=BinaryKind.EXECUTABLE,
        needed=needed,
        rpaths=(),
        runpath=False,
        symbols=PythonSymbolTable(),
    )


def test_resolution_rules(tmp_path: Path) -> None:
    for name in ("Kernel32.DLL", "vcruntime140.dll", "mylib.dll"):
        (tmp_path / name).write_bytes(b"MZ")
    (tmp_path / "python3.dll").mkdir()  # a directory is not a DLL
    needed = (
        "KERNEL32.dll",  # a KnownDLL: the system copy wins over the one beside the exe
        "api-ms-win-crt-runtime-l1-1-0.dll",
        "ext-ms-win-ntuser-window-l1-1-0.dll",
        "VCRUNTIME140.dll",  # the application's own copy wins
        "MSVCP140.dll",  # not carried: the redistributable on the machine provides it
        "MYLIB.DLL",
        "python3.dll",
        "python311.dll",
    )
    result = resolve(_parsed_pe(needed), str(tmp_path / "app.exe"), ResolveContext())
    assert [(n.name, n.resolved_path, n.system) for n in result] == [
        ("KERNEL32.dll", None, True),
        ("api-ms-win-crt-runtime-l1-1-0.dll", None, True),
        ("ext-ms-win-ntuser-window-l1-1-0.dll", None, True),
        ("VCRUNTIME140.dll", str(tmp_path / "vcruntime140.dll"), False),
        ("MSVCP140.dll", None, True),
        ("MYLIB.DLL", str(tmp_path / "mylib.dll"), False),
        ("python3.dll", None, False),
        ("python311.dll", None, False),
    ]


def test_system_dlls_match_any_case_and_a_copy_beside_wins_unless_known(tmp_path: Path) -> None:
    (tmp_path / "VERSION.dll").write_bytes(b"MZ")  # not a KnownDLL: the loader takes this one
    (tmp_path / "user32.dll").write_bytes(b"MZ")  # a KnownDLL: the system's copy is used
    needed = ("NETAPI32.dll", "WINSPOOL.DRV", "UxTheme.dll", "version.dll", "USER32.dll")
    result = resolve(_parsed_pe(needed), str(tmp_path / "app.exe"), ResolveContext())
    assert [(n.name, n.resolved_path, n.system) for n in result] == [
        ("NETAPI32.dll", None, True),
        ("WINSPOOL.DRV", None, True),
        ("UxTheme.dll", None, True),
        ("version.dll", str(tmp_path / "VERSION.dll"), False),
        ("USER32.dll", None, True),
    ]


def _dll(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"MZ")
    return path


def _extension(needed: tuple[str, ...]) -> ParsedBinary:
    return _parsed_pe(needed)._replace(kind=BinaryKind.SHARED_LIBRARY)


@pytest.mark.parametrize(
    "folder",
    [
        "site/scikit_learn.libs",  # delvewheel: <distribution>.libs beside the package
        "site/sklearn/.libs",  # older delvewheel: .libs inside the package
        "site/pywin32_system32",  # added for every module by pywin32's start-up hook
    ],
)
def test_extension_finds_dlls_in_folders_packages_add_at_import(
    tmp_path: Path, folder: str
) -> None:
    vendored = _dll(tmp_path / folder / "libopenblas-4b1f.dll")
    module = tmp_path / "site" / "sklearn" / "utils" / "_fast.pyd"
    parsed = _extension(("libopenblas-4b1f.dll", "missing.dll"))
    (openblas, missing) = resolve(parsed, str(module), ResolveContext())
    assert (openblas.resolved_path, openblas.system) == (str(vendored), False)
    assert (missing.resolved_path, missing.system) == (None, False)
    # A program is not loaded by Python: no package has added a folder for it.
    (as_program, _) = resolve(_parsed_pe(parsed.needed), str(module), ResolveContext())
    assert as_program.resolved_path is None


def test_extension_importing_a_sibling_extension_module(tmp_path: Path) -> None:
    sibling = _dll(tmp_path / "win32comext" / "axscript" / "axscript.pyd")
    module = tmp_path / "win32comext" / "axdebug" / "axdebug.pyd"
    (found,) = resolve(_extension(("axscript.pyd",)), str(module), ResolveContext())
    assert found.resolved_path == str(sibling)
