"""Windows DLL resolution rules on a laid-out tree (tests/integration reads real PE files)."""

from __future__ import annotations

from pathlib import Path

from packager.binary import ResolveContext
from packager.binary.pe_loader import resolve
from packager.model import BinaryFormat, BinaryKind, ParsedBinary, PythonSymbolTable


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
