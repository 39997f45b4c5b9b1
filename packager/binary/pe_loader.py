"""Where Windows would find each DLL a PE image imports, judged without running anything.

A static reading can only speak for the application's directory: the rest of the
Windows search order (System32, the Windows directory, PATH) belongs to the target
machine. DLLs that every Windows provides are marked `system`; anything else not beside
the image (python3XY.dll above all) is reported unresolved.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from packager.model import NeededLibrary, ParsedBinary

if TYPE_CHECKING:
    from packager.binary import ResolveContext

# KnownDLLs and core OS libraries: Windows maps its own copy even when a file of the same
# name sits beside the application, so the application directory is not looked at.
_KNOWN_DLLS = frozenset(
    {
        "advapi32.dll",
        "bcrypt.dll",
        "comctl32.dll",
        "comdlg32.dll",
        "crypt32.dll",
        "dbghelp.dll",
        "gdi32.dll",
        "imm32.dll",
        "iphlpapi.dll",
        "kernel32.dll",
        "kernelbase.dll",
        "msvcrt.dll",
        "ntdll.dll",
        "ole32.dll",
        "oleaut32.dll",
        "psapi.dll",
        "rpcrt4.dll",
        "secur32.dll",
        "setupapi.dll",
        "shell32.dll",
        "shlwapi.dll",
        "user32.dll",
        "userenv.dll",
        "version.dll",
        "winmm.dll",
        "ws2_32.dll",
    }
)
# Runtime libraries Windows 10+ ships (ucrtbase) or that most machines have from the
# Visual C++ redistributable; an application may carry its own copy, which then wins.
_RUNTIME_DLLS = frozenset(
    {"ucrtbase.dll", "vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll"}
)
# API set names resolve through the OS's schema, never through the file system.
_API_SET_PREFIXES = ("api-ms-win-", "ext-ms-")


def resolve(parsed: ParsedBinary, path: str, context: ResolveContext) -> tuple[NeededLibrary, ...]:
    """Resolve every imported DLL of `parsed`, the image read from `path`."""
    beside = _files_by_lower_name(os.path.dirname(os.path.abspath(path)))
    return tuple(_resolve_one(name, beside) for name in parsed.needed)


def _resolve_one(name: str, beside: dict[str, str]) -> NeededLibrary:
    lower = name.lower()
    if lower in _KNOWN_DLLS or lower.startswith(_API_SET_PREFIXES):
        return NeededLibrary(name=name, resolved_path=None, system=True)
    found = beside.get(lower)
    if found is not None:
        return NeededLibrary(name=name, resolved_path=found)
    return NeededLibrary(name=name, resolved_path=None, system=lower in _RUNTIME_DLLS)


def _files_by_lower_name(directory: str) -> dict[str, str]:
    """Regular files in `directory` keyed by lower-cased name: Windows matches names
    case-insensitively, so PYTHON311.DLL satisfies an import of python311.dll."""
    found: dict[str, str] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file():
                    found.setdefault(entry.name.lower(), entry.path)
    except OSError:
        return {}
    return found
