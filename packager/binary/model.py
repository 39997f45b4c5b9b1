"""Immutable result values shared by readers, checks, builders and renderers.

The values are NamedTuples rather than frozen dataclasses: every command defines these
classes at start-up, and a dataclass costs about four times as much to define (some 7 ms
of `packager inspect`'s start-up, whose budget is three readelf runs).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class BinaryFormat(StrEnum):
    ELF = "elf"
    MACHO = "macho"
    PE = "pe"


class BinaryKind(StrEnum):
    EXECUTABLE = "executable"
    SHARED_LIBRARY = "shared-library"
    EXTENSION_MODULE = "extension-module"
    MACHO_BUNDLE = "macho-bundle"
    OBJECT = "object"
    OTHER = "other"


class LinkMode(StrEnum):
    """How a binary gets its Python interpreter."""

    DYNAMIC = "dynamic"  # depends on a shared libpython
    STATIC = "static"  # the interpreter is linked into the file itself
    NONE = "none"  # neither: e.g. an extension module resolving Py* at load time


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Order for comparisons: info < warning < error."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class PythonSymbolTable(NamedTuple):
    """Python symbols as a format reader sees them; nothing inferred yet."""

    exported: tuple[str, ...] = ()  # Py*/_Py* defined and exported (.dynsym, export table)
    needed: tuple[str, ...] = ()  # Py*/_Py* the file imports (undefined dynamic symbols)
    local: tuple[str, ...] = ()  # Py*/_Py* defined but not exported (.symtab only)
    pyinit: tuple[str, ...] = ()  # PyInit_* defined anywhere in the file


class ParsedBinary(NamedTuple):
    """What a format reader extracts from one image (one slice of a fat Mach-O)."""

    format: BinaryFormat
    arch: str
    kind: BinaryKind
    needed: tuple[str, ...]  # DT_NEEDED / LC_LOAD_DYLIB & co / PE imported DLLs, in order
    rpaths: tuple[str, ...]  # DT_RPATH or DT_RUNPATH entries, LC_RPATH; split, in order
    runpath: bool  # ELF: the rpaths come from DT_RUNPATH (searched after LD_LIBRARY_PATH)
    symbols: PythonSymbolTable
    embedded_python_version: str | None = None  # e.g. "3.11.2", from PY_VERSION data
    interpreter: str | None = None  # ELF PT_INTERP
    soname: str | None = None  # ELF DT_SONAME / Mach-O LC_ID_DYLIB / PE export name
    glibc_floor: str | None = None  # highest GLIBC_x.y version needed (ELF)
    slice_index: int | None = None  # index inside a universal (fat) Mach-O
    universal: bool = False
    misaligned_loads: int = 0  # ELF PT_LOAD segments with offset % align != vaddr % align


class NeededLibrary(NamedTuple):
    name: str
    resolved_path: str | None  # None: the loader would not find it on this host
    # Provided by the target's operating system (KERNEL32.dll, /usr/lib/libSystem.B.dylib)
    # and so not looked up on a host of another kind.
    system: bool = False


class LibPython(NamedTuple):
    name: str
    version: str | None
    resolved_path: str | None
    abi3: bool = False


class Finding(NamedTuple):
    """One problem (or note) about a file, in the style of a linter message."""

    code: str  # stable, e.g. "PKG101"
    severity: Severity
    path: str
    message: str
    fix: str


class OnefilePayload(NamedTuple):
    """A onefile payload found in a file: what it carries, or why it is unusable."""

    path: str
    python_version: str | None
    entry: str | None
    executable_size: int  # bytes before the module archive
    archive_size: int  # the module archive, up to the end of the file
    extension_modules: int
    search_paths: tuple[str, ...]
    problem: str | None = None  # set when the start-up code would refuse to run


class BinaryReport(NamedTuple):
    """Everything inspect knows about one binary image."""

    path: str
    format: BinaryFormat
    arch: str
    kind: BinaryKind
    link_mode: LinkMode
    python_version: str | None
    libpython: LibPython | None
    rpaths: tuple[str, ...]
    runpath: bool
    needed: tuple[NeededLibrary, ...]
    symbols: PythonSymbolTable
    glibc_floor: str | None = None
    interpreter: str | None = None
    slice_index: int | None = None
    universal: bool = False
    findings: tuple[Finding, ...] = ()
    payload: OnefilePayload | None = None  # a onefile executable's module archive
    misaligned_loads: int = 0  # ELF PT_LOAD segments the loader cannot map


class FileError(NamedTuple):
    """A file inspect could not read; the walk goes on past it."""

    path: str
    message: str


class InspectResult(NamedTuple):
    binaries: tuple[BinaryReport, ...]
    errors: tuple[FileError, ...] = ()
    skipped: int = 0  # files that are not binaries (counted, not reported one by one)
