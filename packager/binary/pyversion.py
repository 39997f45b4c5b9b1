"""Find the CPython version inside a binary that carries the interpreter itself.

Format-agnostic: a reader hands in the file's bytes (or an mmap) and, when it knows it,
the (offset, size) of the read-only data, so the ELF, Mach-O and PE readers share one
heuristic. `embedded_version` decides whether a file carries the interpreter at all (it defines
an entry point such as Py_Initialize, or, stripped, holds the runtime's own strings) and
then reads the version from Py_Version's value or from the PY_VERSION string.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Set as AbstractSet

Buffer = bytes | mmap.mmap
Span = tuple[int, int]  # (offset, size)

# Any of these, defined in a file, means the file contains the interpreter itself.
INIT_SYMBOLS = frozenset(
    {
        "Py_Initialize",
        "Py_InitializeEx",
        "Py_InitializeFromConfig",
        "Py_Main",
        "PyRun_SimpleStringFlags",
    }
)
# `const unsigned long Py_Version = PY_VERSION_HEX;` (Python/getversion.c, 3.11+).
VERSION_SYMBOL = "Py_Version"

# Strings only CPython's runtime core holds: fatal_error() in pylifecycle.c prints the
# first, initconfig.c reads the second (3.6+). PyPy's libpypy has the first only; a file
# that merely calls into a shared libpython has neither.
_INTERPRETER_MARKERS = (b"Fatal Python error: ", b"PYTHONMALLOC")

# sys.implementation.cache_tag, "cpython-" MAJOR MINOR (sysmodule.c, every 3.x since 3.3).
_CACHE_TAG = re.compile(rb"cpython-3([0-9]{1,2})\x00")
# PY_VERSION as a C string. The linker may merge it into the tail of a longer string
# ("/opt/python/3.11.7"), so the start is only required not to continue a number.
_PY_VERSION = re.compile(
    rb"(?<![0-9.])(3\.([0-9]{1,2})\.[0-9]{1,2}(?:(?:a|b|rc)[0-9]{1,2})?\+?)\x00"
)

_RELEASE_LEVELS = {0xA: "a", 0xB: "b", 0xC: "rc", 0xF: ""}


def embedded_version(
    data: Buffer,
    rodata: Span | None,
    *,
    defined: AbstractSet[str],
    imports_python: bool,
    version_hex: int | None,
) -> str | None:
    """PY_VERSION of the interpreter a file carries itself, or None if it carries none.

    `defined` holds the Py* names the file defines (any symbol table), `imports_python`
    says it takes Py* symbols from elsewhere, `version_hex` is Py_Version's value if found.
    """
    carries = not INIT_SYMBOLS.isdisjoint(defined)
    if not (carries or defined or imports_python or rodata is None):
        # A stripped static embed has no symbols left: recognise the runtime by its strings.
        carries = has_interpreter_markers(data, rodata)
    if not carries:
        return None
    version = None if version_hex is None else version_from_hex(version_hex)
    if version is None and rodata is not None:
        version = find_version_string(data, rodata)
    return version


def version_from_hex(value: int) -> str | None:
    """Spell a PY_VERSION_HEX value as PY_VERSION does ("3.11.2", "3.13.0rc1"), or None."""
    major, minor, micro = (value >> 24) & 0xFF, (value >> 16) & 0xFF, (value >> 8) & 0xFF
    level, serial = (value >> 4) & 0xF, value & 0xF
    if major != 3 or level not in _RELEASE_LEVELS or value >> 32:
        return None
    suffix = f"{_RELEASE_LEVELS[level]}{serial}" if level != 0xF else ""
    return f"{major}.{minor}.{micro}{suffix}"


def has_interpreter_markers(data: Buffer, span: Span | None = None) -> bool:
    """True when the (read-only) data holds strings that only CPython's runtime carries."""
    start, end = _bounds(data, span)
    return all(data.find(marker, start, end) >= 0 for marker in _INTERPRETER_MARKERS)


def find_version_string(data: Buffer, span: Span | None = None) -> str | None:
    """The PY_VERSION string ("3.11.2") in the data, or None when absent or ambiguous.

    A bare "3.x.y" also names bundled libraries (SQLite, Unicode data "3.2.0"), so a
    candidate counts only when its minor version matches the interpreter's cache tag
    ("cpython-311"), which is in the same data.
    """
    start, end = _bounds(data, span)
    minors = {match.group(1) for match in _CACHE_TAG.finditer(data, start, end)}
    if len(minors) != 1:
        return None
    (minor,) = minors
    candidates = {
        match.group(1).decode("ascii")
        for match in _PY_VERSION.finditer(data, start, end)
        if match.group(2) == minor
    }
    return candidates.pop() if len(candidates) == 1 else None


def _bounds(data: Buffer, span: Span | None) -> tuple[int, int]:
    """Clamp an (offset, size) span to the data, so a bad header cannot widen the search."""
    if span is None:
        return 0, len(data)
    offset, size = span
    start = min(max(offset, 0), len(data))
    return start, min(start + max(size, 0), len(data))
