"""PE (Windows .exe/.dll/.pyd) reader: the bounded struct view of `pe_image` into
ParsedBinary values.

Only the import, delay-import and export directories are read: that is all a linkage
report needs. The COFF symbol table that MinGW leaves in unstripped files adds the Py*
and PyInit_* names defined but not exported (a program's own #[pymodule]s). pefile reads
the same directories in the tests, as the oracle this reader is compared against.
"""

from __future__ import annotations

import re
import struct

from packager.binary import pyversion
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary, PythonSymbolTable
from packager.binary.pe_exports import EXPORT_DIRECTORY, PYTHON_PREFIXES, Exports, read_exports
from packager.binary.pe_image import PeImage
from packager.binary.pe_imports import DELAY_DIRECTORY, IMPORT_DIRECTORY, imported_dlls
from packager.binary.pyversion import Buffer
from packager.targets.machines import PE_MACHINES

_IMAGE_FILE_DLL = 0x2000
_DIRECTORIES = {
    EXPORT_DIRECTORY: "export",
    IMPORT_DIRECTORY: "import",
    DELAY_DIRECTORY: "delay-import",
}
# python311.dll, python3.dll (stable ABI), python313t.dll (free-threaded), python311_d.dll
# (debug), and MinGW/MSYS2's libpython3.11.dll.
_PYTHON_DLL = re.compile(rb"(lib)?python3(\.?[0-9]{1,2})?t?(_d)?\.dll", re.IGNORECASE)

_COFF_RECORD = struct.Struct("<8s4xh3xB")  # name, section number, auxiliary record count
_COFF_SYMBOL_SIZE = _COFF_RECORD.size
_PY = re.compile(b"Py")  # re finds it twice as fast as bytes.find in a string table


def parse(path: str, data: Buffer) -> list[ParsedBinary]:
    """Parse the PE image in `data` (an mmap or bytes) into a one-element list."""
    image = PeImage(path, data)
    for index, name in _DIRECTORIES.items():
        rva = image.directories[index][0] if index < len(image.directories) else 0
        if rva and image.offset(rva) is None:
            # The report would silently lose that file's imports or exports.
            image.fail(f"the {name} directory's RVA {rva:#x} is in no section")
    return [_parsed(image)]


def _parsed(image: PeImage) -> ParsedBinary:
    # pefile stops at the first directory a short table lacks, and the import one comes
    # first: a table of one entry has its exports ignored too.
    walks = len(image.directories) > IMPORT_DIRECTORY
    needed, python_imports = _imports(image) if walks else ((), set())
    exports = read_exports(image) if walks else Exports(set())
    exported = exports.python_names
    defined = _coff_python_names(image) - exported
    symbols = PythonSymbolTable(
        exported=tuple(sorted(exported)),
        needed=tuple(sorted(python_imports - exported)),
        local=tuple(sorted(defined)),
        pyinit=tuple(sorted(n for n in exported | defined if n.startswith("PyInit_"))),
    )
    dll = image.characteristics & _IMAGE_FILE_DLL
    kind = BinaryKind.SHARED_LIBRARY if dll else BinaryKind.EXECUTABLE
    return ParsedBinary(
        format=BinaryFormat.PE,
        arch=PE_MACHINES.get(image.machine, f"machine-{image.machine:#06x}"),
        kind=kind,
        needed=needed,
        rpaths=(),
        runpath=False,
        symbols=symbols,
        embedded_python_version=_embedded_version(image, symbols, kind, exports.version_rva),
        soname=exports.soname,
    )


def _imports(image: PeImage) -> tuple[tuple[str, ...], set[str]]:
    """Imported DLL names (import table, then delay-load table, first spelling kept) and
    the Py*/_Py* names imported by name from Python DLLs."""
    names: dict[str, str] = {}
    python_imports: set[str] = set()
    for raw_dll, imported in imported_dlls(image, _is_python_dll):
        dll = _text(raw_dll)
        names.setdefault(dll.lower(), dll)
        python_imports.update(_text(name) for name in imported if name.startswith(PYTHON_PREFIXES))
    return tuple(names.values()), python_imports


def _coff_python_names(image: PeImage) -> set[str]:
    """Py*/_Py* names the COFF symbol table defines (section number > 0); none when the
    file has no table or its table runs past the end of the file (strip removes it)."""
    data, start, count = image.data, image.symbol_table, image.symbol_count
    strings = start + count * _COFF_SYMBOL_SIZE  # the string table follows the symbols
    if not start or strings + 4 > len(data):
        return set()
    strings_end = min(len(data), strings + int.from_bytes(data[strings : strings + 4], "little"))
    if _PY.search(data, strings, strings_end) is None and not _may_hold_python_name(
        data, start, strings
    ):
        return set()  # most files name nothing Py*: no walk over every record
    table = bytes(data[start:strings])
    names: set[str] = set()
    auxiliary = 0
    for name, section, following in _COFF_RECORD.iter_unpack(table):
        if auxiliary:  # auxiliary records follow their symbol
            auxiliary -= 1
            continue
        auxiliary = following
        if section <= 0:
            continue
        if name[:4] == b"\0\0\0\0":
            offset = strings + int.from_bytes(name[4:], "little")
            end = data.find(b"\0", offset, strings_end) if offset < strings_end else -1
            raw = bytes(data[offset:end]) if end >= 0 else b""
        else:
            raw = name.rstrip(b"\0")
        if raw.startswith(PYTHON_PREFIXES):
            names.add(_text(raw))
    return names


def _may_hold_python_name(data: Buffer, start: int, end: int) -> bool:
    """Whether a record of the symbol table between `start` and `end` may hold a short
    name starting Py or _Py: looked for in columns of the records' first three bytes,
    about a tenth of the table to search."""
    first, second, third = (data[start + n : end : _COFF_SYMBOL_SIZE] for n in range(3))
    for name_start, name_next, prefix in ((first, second, None), (second, third, first)):
        record = name_start.find(b"P")
        while record >= 0:
            if name_next[record] == ord("y") and (prefix is None or prefix[record] == ord("_")):
                return True
            record = name_start.find(b"P", record + 1)
    return False


def _embedded_version(
    image: PeImage, symbols: PythonSymbolTable, kind: BinaryKind, version_rva: int | None
) -> str | None:
    """PY_VERSION of the interpreter the file carries itself (python3XY.dll, a static
    embed), else None; a file that only imports from python3XY.dll gets None."""
    data = image.data
    rdata = image.section_span(b".rdata")  # where MSVC and MinGW put string literals
    carries = not pyversion.INIT_SYMBOLS.isdisjoint(symbols.exported)
    named_none = not (symbols.exported or symbols.needed)
    if named_none and rdata and kind in (BinaryKind.EXECUTABLE, BinaryKind.SHARED_LIBRARY):
        # A file linking the interpreter statically may export nothing: look at strings.
        carries = pyversion.has_interpreter_markers(data, rdata)
    if not carries:
        return None
    version = None
    if version_rva is not None:
        offset = image.offset(version_rva)
        if offset is None:
            image.fail(f"{pyversion.VERSION_SYMBOL}'s RVA {version_rva:#x} is in no section")
        if 0 <= offset <= len(data) - 4:
            # Windows is LLP64: `unsigned long Py_Version` is four little-endian bytes.
            version = pyversion.version_from_hex(
                int.from_bytes(data[offset : offset + 4], "little")
            )
    if version is None and rdata is not None:
        version = pyversion.find_version_string(data, rdata)
    return version


def _is_python_dll(name: bytes) -> bool:
    return _PYTHON_DLL.fullmatch(name) is not None


def _text(raw: bytes) -> str:
    """Names in PE tables are ANSI, almost always ASCII."""
    return raw.decode("utf-8", "surrogateescape")
