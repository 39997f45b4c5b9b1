"""A PE image's export directory: the Py*/_Py* names it exports, its own DLL name, and
where Py_Version lives.

The walk keeps pefile's reading (the test oracle): an invalid name, a name repeated at
one address more than ten times, or more than 0x2000 names ends the table; an ordinal
outside the function table, or ten function addresses missing from a table the end of
the file cuts short, drops every export. A well-formed table, the usual case, is checked
for all of these at once and read without a step per export.
"""

from __future__ import annotations

import struct
from collections import Counter
from typing import NamedTuple, cast

from packager.binary import pyversion
from packager.binary.pe_image import ALPHANUMERIC, PeImage, only

EXPORT_DIRECTORY = 0
PYTHON_PREFIXES = (b"Py", b"_Py")
_HEADER = struct.Struct("<IIHHIIIIIII")
_MAX_NAME = 0x200
_MAX_DLL_NAME = 0x100000
_MAX_REPEATS, _MAX_EXPORTS, _MAX_FAILURES = 10, 0x2000, 10
_MAX_ORDINAL_REPEATS = 120  # the same as _MAX_REPEATS, for exports by ordinal alone
_VERSION_SYMBOL = pyversion.VERSION_SYMBOL.encode()
_NAME_BYTES = ALPHANUMERIC + b"!\"#$%&'()*+,-./:<>?[\\]^_`{|}~@"  # pefile's, for exports


class Exports(NamedTuple):
    python_names: set[str]  # the exported Py*/_Py* names: all a linkage report uses
    soname: str | None = None  # the export directory's own DLL name
    version_rva: int | None = None  # Py_Version's address, when exported (not forwarded)


class _Arrays(NamedTuple):
    names: tuple[int, ...]  # name RVAs
    ordinals: tuple[int, ...]  # function-table indexes
    functions: tuple[int, ...]  # function RVAs
    functions_size: int  # bytes of the function table the file holds
    names_rva: int
    functions_rva: int


class _Named(NamedTuple):
    """The exports by name, as parallel lists in table order."""

    names: list[bytes]
    addresses: list[int]
    ordinals: list[int]
    python: bool = True  # False when no name can start Py or _Py: nothing to look for


def read_exports(image: PeImage) -> Exports:
    """What the export directory says, or an empty Exports when there is none to read."""
    rva, size = image.directories[EXPORT_DIRECTORY]
    raw = image.read(rva, _HEADER.size) if rva else None
    if raw is None or len(raw) < _HEADER.size:
        return Exports(set())
    header = _HEADER.unpack(raw)
    name_rva, function_count, name_count = header[4], header[6], header[7]
    arrays = _arrays(image, header)
    if arrays is None:
        return Exports(set())
    named = _named_exports(image, arrays, name_count, (rva, size))
    if named is None or _functions_cut_short(image, arrays, function_count, named):
        return Exports(set())
    python_names: set[str] = set()
    version_rva = None
    exports = zip(named.names, named.addresses, strict=True) if named.python else ()
    for name, address in exports:
        if name.startswith(PYTHON_PREFIXES):
            python_names.add(name.decode("utf-8", "surrogateescape"))
            if name == _VERSION_SYMBOL and not rva <= address < rva + size:  # not forwarded
                version_rva = address
    soname = image.string(name_rva, _MAX_DLL_NAME) if any(header) else None
    text = soname.decode("utf-8", "surrogateescape") if soname else None
    return Exports(python_names, text, version_rva)


def _arrays(image: PeImage, header: tuple[int, ...]) -> _Arrays | None:
    function_count, name_count, functions_rva, names_rva, ordinals_rva = header[6:]
    names = _array(image, names_rva, name_count * 4)
    ordinals = _array(image, ordinals_rva, name_count * 4)
    functions = _array(image, functions_rva, function_count * 4)
    if names is None or ordinals is None or functions is None:
        return None
    count = min(name_count, _room(image, names_rva) // 4)
    return _Arrays(
        names=_numbers(names, "I", count),
        ordinals=_numbers(ordinals, "H", count),
        functions=_numbers(functions, "I", len(functions) // 4),
        functions_size=len(functions),
        names_rva=names_rva,
        functions_rva=functions_rva,
    )


def _array(image: PeImage, rva: int, length: int) -> bytes | None:
    """Up to `length` bytes of an export array, cut at the end of the file or of its
    section; None when the RVA maps nowhere."""
    offset = image.offset(rva)
    if offset is None:
        return None
    return image.read(rva, max(0, min(image.size - offset, length))) or b""


def _numbers(array: bytes, code: str, count: int) -> tuple[int, ...]:
    """The first `count` little-endian numbers of `array`, or as many as it holds."""
    count = max(0, min(count, len(array) // struct.calcsize(code)))
    return struct.unpack_from(f"<{count}{code}", array)


def _room(image: PeImage, rva: int) -> int:
    """Bytes from `rva` to the end of its section's data (the file's size outside one)."""
    section = image.section_of(rva)
    if section is None:
        return image.size
    return section.address + section.raw_size - rva


def _named_exports(
    image: PeImage, arrays: _Arrays, name_count: int, directory: tuple[int, int]
) -> _Named | None:
    """The exports by name; None when pefile would keep no export at all."""
    count = min(name_count, _room(image, arrays.names_rva) // 4)
    strings = image.strings(arrays.names, _MAX_NAME)
    start, end = directory[0], directory[0] + directory[1]
    if end <= image.size:
        unplaced: set[int] = set()  # every address in the directory maps into the file
    else:
        # pefile passes over a forwarder whose string it cannot place in the file.
        unplaced = {a for a in arrays.functions if start <= a < end and image.offset(a) is None}
    return _well_formed(arrays, strings, count, unplaced) or _walk(arrays, strings, count, unplaced)


def _well_formed(
    arrays: _Arrays, strings: list[bytes | None], count: int, unplaced: set[int]
) -> _Named | None:
    """The exports of a table where no check of `_walk` can fire (every name valid and
    listed once, every function address non-zero), else None; checked at once."""
    names, ordinals, functions = arrays.names, arrays.ordinals, arrays.functions
    if not (len(names) == len(ordinals) == count <= _MAX_EXPORTS) or None in strings:
        return None
    if unplaced or max(ordinals, default=0) >= len(functions):
        return None
    valid = cast("list[bytes]", strings)  # no None among them, as checked above
    addresses = list(map(functions.__getitem__, ordinals))
    joined = b"".join(valid)
    if 0 in addresses or not only(joined, _NAME_BYTES):
        return None
    if len(set(valid)) < count:
        return None  # a name listed twice: the walk counts repeats
    return _Named(valid, addresses, list(ordinals), python=b"Py" in joined)


def _walk(
    arrays: _Arrays, strings: list[bytes | None], count: int, unplaced: set[int]
) -> _Named | None:
    """The exports by name, one at a time, with every check of pefile's walk."""
    names, ordinals, functions = arrays.names, arrays.ordinals, arrays.functions
    named = _Named([], [], [])
    seen: Counter[tuple[bytes, int]] = Counter()
    failures = 0
    for index in range(count):
        if index >= len(ordinals) or ordinals[index] * 4 >= arrays.functions_size:
            return None
        ordinal = ordinals[index]
        address = functions[ordinal] if ordinal < len(functions) else 0
        if address == 0 or address in unplaced:  # no function, or none pefile can read
            continue
        if index >= len(names):
            break  # no name address: pefile takes the rest for garbage
        name = strings[index]
        if name is None:  # pefile reads an empty name there, then fails to place it
            failures += 2  # pefile looks twice, counting each miss
            if failures >= _MAX_FAILURES:
                break
            continue
        if not only(name, _NAME_BYTES):
            break
        seen[name, address] += 1
        if seen[name, address] > _MAX_REPEATS or len(seen) > _MAX_EXPORTS:
            break
        named.names.append(name)
        named.addresses.append(address)
        named.ordinals.append(ordinal)
    return named


def _functions_cut_short(
    image: PeImage, arrays: _Arrays, function_count: int, named: _Named
) -> bool:
    """Whether pefile's walk over the exports by ordinal alone meets ten function
    addresses missing from a table the end of the file cuts short, and so drops every
    export. Only a cut-short table needs the walk."""
    functions = arrays.functions
    count = min(function_count, _room(image, arrays.functions_rva) // 4)
    if count <= len(functions):
        return False
    by_name = set(named.ordinals)
    failures = 0
    seen: Counter[int | None] = Counter()
    for index in range(count):
        if index in by_name:
            continue
        address = None
        if index < len(functions):
            address = functions[index]
            if address == 0:
                continue
        else:
            failures += 1
            if failures >= _MAX_FAILURES:
                return True
        seen[address] += 1
        if seen[address] > _MAX_ORDINAL_REPEATS or len(seen) > _MAX_EXPORTS:
            return False
    return False
