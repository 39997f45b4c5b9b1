"""The test oracle for packager's PE reader: the same ParsedBinary values, read through
pefile (packager's reader until issue #21, kept as it was).

tests/integration/test_pe_oracle.py compares `packager.binary.pe.parse` with `parse`
here on every PE file it can find. Only the import, delay-import and export directories
are parsed; the COFF symbol table adds the Py* and PyInit_* names defined but not
exported.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pefile

from packager.binary import pyversion
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary, PythonSymbolTable
from packager.core.errors import UnreadableInputError
from packager.targets.machines import PE_MACHINES

if TYPE_CHECKING:
    import mmap

_IMAGE_FILE_DLL = 0x2000
_COFF_SYMBOL_SIZE = 18
_DIRECTORIES = {0: "export", 1: "import", 13: "delay-import"}  # data directory indexes
# python311.dll, python3.dll (stable ABI), python313t.dll (free-threaded), python311_d.dll
# (debug), and MinGW/MSYS2's libpython3.11.dll.
_PYTHON_DLL = re.compile(r"(lib)?python3(\.?[0-9]{1,2})?t?(_d)?\.dll", re.IGNORECASE)


def parse(path: str, data: bytes | mmap.mmap) -> list[ParsedBinary]:
    """Parse the PE image in `data` (an mmap or bytes) into a one-element list."""
    try:
        image = pefile.PE(data=data, fast_load=True)
        _check_complete(image, len(data), path)
        image.parse_data_directories(directories=list(_DIRECTORIES))
        _check_directories_mapped(image, path)
        return [_parsed(image, data)]
    except UnreadableInputError:
        raise
    except Exception as exc:
        # pefile signals bad input with PEFormatError but also lets struct.error,
        # IndexError, ValueError and friends escape from its parsers.
        raise UnreadableInputError(f"truncated or malformed PE: {exc}", path=path) from exc


def _check_complete(image: Any, file_size: int, path: str) -> None:
    """Refuse an image whose headers or sections run past the end of the file: pefile
    would read the missing bytes as zeros or absent tables and report fewer imports,
    and Windows refuses to load such a file."""
    header = image.FILE_HEADER
    headers_end = (
        image.DOS_HEADER.e_lfanew + 24 + header.SizeOfOptionalHeader + 40 * header.NumberOfSections
    )
    if headers_end > file_size:
        raise UnreadableInputError(
            f"truncated or malformed PE: headers end at {headers_end}, past the end of the file",
            path=path,
        )
    for section in image.sections:
        if section.PointerToRawData + section.SizeOfRawData > file_size:
            name = section.Name.rstrip(b"\0").decode("ascii", "replace")
            raise UnreadableInputError(
                f"truncated or malformed PE: section {name} ends past the end of the file",
                path=path,
            )


def _check_directories_mapped(image: Any, path: str) -> None:
    """Refuse a declared directory whose RVA lies in no section: pefile would only record
    a warning, and the report would silently lose that file's imports or exports."""
    declared = image.OPTIONAL_HEADER.DATA_DIRECTORY
    for index, name in _DIRECTORIES.items():
        rva = declared[index].VirtualAddress if index < len(declared) else 0
        if rva and image.get_physical_by_rva(rva) is None:
            raise UnreadableInputError(
                f"truncated or malformed PE: the {name} directory's RVA {rva:#x} is in no section",
                path=path,
            )


def _parsed(image: Any, data: bytes | mmap.mmap) -> ParsedBinary:
    characteristics = image.FILE_HEADER.Characteristics
    machine = image.FILE_HEADER.Machine
    needed, python_imports = _imports(image)
    exported, soname, version_rva = _exports(image)
    local = {name for name in _coff_defined(image, data) if _is_python_symbol(name)} - exported
    symbols = PythonSymbolTable(
        exported=tuple(sorted(name for name in exported if _is_python_symbol(name))),
        needed=tuple(sorted(python_imports - exported)),
        local=tuple(sorted(local)),
        pyinit=tuple(sorted(n for n in exported | local if n.startswith("PyInit_"))),
    )
    kind = BinaryKind.SHARED_LIBRARY if characteristics & _IMAGE_FILE_DLL else BinaryKind.EXECUTABLE
    return ParsedBinary(
        format=BinaryFormat.PE,
        arch=PE_MACHINES.get(machine, f"machine-{machine:#06x}"),
        kind=kind,
        needed=needed,
        rpaths=(),
        runpath=False,
        symbols=symbols,
        embedded_python_version=_embedded_version(image, data, symbols, kind, version_rva),
        soname=soname,
    )


def _imports(image: Any) -> tuple[tuple[str, ...], set[str]]:
    """Imported DLL names (import table, then delay-load table, first spelling kept) and
    the Py*/_Py* names imported by name from Python DLLs."""
    names: dict[str, str] = {}
    python_imports: set[str] = set()
    entries = [
        *getattr(image, "DIRECTORY_ENTRY_IMPORT", ()),
        *getattr(image, "DIRECTORY_ENTRY_DELAY_IMPORT", ()),
    ]
    for entry in entries:
        dll = _text(entry.dll)
        names.setdefault(dll.lower(), dll)
        if _PYTHON_DLL.fullmatch(dll):
            for imported in entry.imports:
                if imported.name is not None:  # None: imported by ordinal only
                    name = _text(imported.name)
                    if _is_python_symbol(name):
                        python_imports.add(name)
    return tuple(names.values()), python_imports


def _exports(image: Any) -> tuple[set[str], str | None, int | None]:
    """Exported names, the export directory's own DLL name, and Py_Version's RVA."""
    directory = getattr(image, "DIRECTORY_ENTRY_EXPORT", None)
    if directory is None:
        return set(), None, None
    exported: set[str] = set()
    version_rva = None
    for symbol in directory.symbols:
        if symbol.name is None:
            continue
        name = _text(symbol.name)
        exported.add(name)
        if name == pyversion.VERSION_SYMBOL and symbol.forwarder is None:
            version_rva = symbol.address
    soname = _text(directory.name) if directory.name else None
    return exported, soname, version_rva


def _coff_defined(image: Any, data: bytes | mmap.mmap) -> set[str]:
    """Names the COFF symbol table defines (section number > 0); none when the file has
    no table or its table runs past the end of the file (strip removes it)."""
    header = image.FILE_HEADER
    start, count = header.PointerToSymbolTable, header.NumberOfSymbols
    strings = start + count * _COFF_SYMBOL_SIZE  # the string table follows the symbols
    if not start or strings + 4 > len(data):
        return set()
    strings_end = min(len(data), strings + int.from_bytes(data[strings : strings + 4], "little"))
    names: set[str] = set()
    index = 0
    while index < count:
        at = start + index * _COFF_SYMBOL_SIZE
        entry = bytes(data[at : at + _COFF_SYMBOL_SIZE])
        section = int.from_bytes(entry[12:14], "little", signed=True)
        index += 1 + entry[17]  # auxiliary records follow their symbol
        if section <= 0:
            continue
        if entry[:4] == b"\0\0\0\0":
            offset = strings + int.from_bytes(entry[4:8], "little")
            end = data.find(b"\0", offset, strings_end) if offset < strings_end else -1
            raw = bytes(data[offset:end]) if end >= 0 else b""
        else:
            raw = entry[:8].rstrip(b"\0")
        if raw:
            names.add(_text(raw))
    return names


def _embedded_version(
    image: Any,
    data: bytes | mmap.mmap,
    symbols: PythonSymbolTable,
    kind: BinaryKind,
    version_rva: int | None,
) -> str | None:
    """PY_VERSION of the interpreter the file carries itself (python3XY.dll, a static
    embed), else None; a file that only imports from python3XY.dll gets None."""
    rdata = _rdata_span(image, len(data))
    carries = not pyversion.INIT_SYMBOLS.isdisjoint(symbols.exported)
    named_none = not (symbols.exported or symbols.needed)
    if named_none and rdata and kind in (BinaryKind.EXECUTABLE, BinaryKind.SHARED_LIBRARY):
        # A file linking the interpreter statically may export nothing: look at strings.
        carries = pyversion.has_interpreter_markers(data, rdata)
    if not carries:
        return None
    version = None
    if version_rva is not None:
        offset = image.get_offset_from_rva(version_rva)
        if offset is not None and 0 <= offset <= len(data) - 4:
            # Windows is LLP64: `unsigned long Py_Version` is four little-endian bytes.
            version = pyversion.version_from_hex(
                int.from_bytes(data[offset : offset + 4], "little")
            )
    if version is None and rdata is not None:
        version = pyversion.find_version_string(data, rdata)
    return version


def _rdata_span(image: Any, file_size: int) -> tuple[int, int] | None:
    """(offset, size) of .rdata, where MSVC and MinGW put string literals."""
    for section in image.sections:
        if section.Name.rstrip(b"\0") == b".rdata":
            offset, size = section.PointerToRawData, section.SizeOfRawData
            return offset, max(0, min(size, file_size - offset))
    return None


def _is_python_symbol(name: str) -> bool:
    return name.startswith(("Py", "_Py"))


def _text(raw: bytes | str) -> str:
    """pefile hands out bytes; names in PE tables are ANSI, almost always ASCII."""
    return raw if isinstance(raw, str) else raw.decode("utf-8", "surrogateescape")
