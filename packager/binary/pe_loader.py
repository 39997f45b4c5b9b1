"""Where Windows would find each DLL a PE image imports, judged without running anything.

A static reading can only speak for the files that travel with the image: its own
directory and, for a DLL or extension module that Python loads, the folders its package
adds with os.add_dll_directory at import (numpy.libs and delvewheel's other
`<distribution>.libs` folders beside the package, a package's own `.libs`,
pywin32_system32). The rest of the Windows search order (System32, PATH) belongs to the
target machine: DLLs that every Windows provides are marked `system`; anything else
(python3XY.dll above all) is reported unresolved.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from packager.binary.model import BinaryKind, NeededLibrary, ParsedBinary
from packager.binary.windows_dlls import (
    API_SET_PREFIXES,
    KNOWN_DLLS,
    REDISTRIBUTABLE_DLLS,
    SYSTEM_DLLS,
)

if TYPE_CHECKING:
    from packager.binary import ResolveContext

# Folders a package adds to the DLL search path when it is imported (delvewheel's
# `<name>.libs` beside the package and older `<package>/.libs`; pywin32's .pth start-up
# hook adds pywin32_system32 for every module of its site directory).
_PYWIN32_DLL_FOLDER = "pywin32_system32"
_LIBS_SUFFIX = ".libs"


def resolve(parsed: ParsedBinary, path: str, context: ResolveContext) -> tuple[NeededLibrary, ...]:
    """Resolve every imported DLL of `parsed`, the image read from `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    beside = _files_by_lower_name(directory)
    loaded_by_python = parsed.kind is not BinaryKind.EXECUTABLE
    found_elsewhere: dict[str, str] | None = None

    def elsewhere() -> dict[str, str]:
        # Listed only when something is not beside the image: most DLLs never need it.
        nonlocal found_elsewhere
        if found_elsewhere is None:
            found_elsewhere = _import_time_files(directory) if loaded_by_python else {}
        return found_elsewhere

    return tuple(_resolve_one(name, beside, elsewhere) for name in parsed.needed)


def _resolve_one(
    name: str, beside: Mapping[str, str], elsewhere: Callable[[], dict[str, str]]
) -> NeededLibrary:
    lower = name.lower()
    if lower in KNOWN_DLLS or lower.startswith(API_SET_PREFIXES):
        return NeededLibrary(name=name, resolved_path=None, system=True)
    found = beside.get(lower)
    if found is None and lower not in SYSTEM_DLLS and lower not in REDISTRIBUTABLE_DLLS:
        found = elsewhere().get(lower)
    if found is not None:
        return NeededLibrary(name=name, resolved_path=found)
    system = lower in SYSTEM_DLLS or lower in REDISTRIBUTABLE_DLLS
    return NeededLibrary(name=name, resolved_path=None, system=system)


def _import_time_files(directory: str) -> dict[str, str]:
    """DLLs in the folders packages add at import, seen from an image in `directory`,
    and the extension modules of sibling packages (a `.pyd` importing another `.pyd`
    binds to the module its package imported first, which Windows matches by name)."""
    found: dict[str, str] = {}
    parent = os.path.dirname(directory)
    for sibling in _subdirectories(parent):
        for lower, path in _files_by_lower_name(sibling).items():
            if lower.endswith(".pyd"):
                found.setdefault(lower, path)
    current = directory
    while True:
        for folder in _subdirectories(current):
            name = os.path.basename(folder)
            if name == _PYWIN32_DLL_FOLDER or name.endswith(_LIBS_SUFFIX):
                for lower, path in _files_by_lower_name(folder).items():
                    found.setdefault(lower, path)
        up = os.path.dirname(current)
        if up == current:
            return found
        current = up


def _subdirectories(directory: str) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return sorted(entry.path for entry in entries if entry.is_dir())
    except OSError:
        return []


def _files_by_lower_name(directory: str) -> Mapping[str, str]:
    """Regular files in `directory` keyed by lower-cased name: Windows matches names
    case-insensitively, so PYTHON311.DLL satisfies an import of python311.dll."""
    try:
        modified = os.stat(directory).st_mtime_ns
    except OSError:
        return {}
    return _listing(directory, modified)


# Keyed by the directory's modification time, which changes whenever an entry is added,
# removed or renamed: a walk over a folder of 700 DLLs lists it once, not 700 times.
@functools.lru_cache(maxsize=64)
def _listing(directory: str, modified: int) -> Mapping[str, str]:
    found: dict[str, str] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file():
                    found.setdefault(entry.name.lower(), entry.path)
    except OSError:
        return {}
    return found
