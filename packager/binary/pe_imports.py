"""A PE image's import and delay-load import directories: which DLLs it names, and the
functions it imports by name from each.

The walk keeps pefile's reading (the test oracle) wherever a real file could tell the
two apart: a descriptor whose table yields no usable entry names no DLL, names with
characters no linker emits are passed over, and after six such descriptors the directory
ends. Each table is read in bounded chunks, and the entries read in all stay
within what the file has room for, so tables that overlap on purpose cost linear work.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from packager.binary.pe_image import ALPHANUMERIC, PeImage, only

IMPORT_DIRECTORY, DELAY_DIRECTORY = 1, 13
_IMPORT_DESCRIPTOR = struct.Struct("<IIIII")  # lookup table, stamp, chain, name, addresses
_DELAY_DESCRIPTOR = struct.Struct("<IIIIIIII")  # attributes, name, module, addresses, lookup…
_MAX_NAME = 0x200  # pefile's cap on DLL and function names
_MAX_EMPTY_DESCRIPTORS = 5
_MAX_LEADING_INVALID = 1000
_FIRST_CHUNK = 32  # entries read at once from the start of a table
_I386 = 0x14C
# pefile's tests for plausible names: a DLL name in 8.3 file-name characters (plus path
# separators), a function name in the characters of C and C++ mangled names.
_DLL_NAME_BYTES = ALPHANUMERIC + b"!#$%&'()-@^_`{}~+,.;=[]:\\/"
_FUNCTION_NAME_BYTES = ALPHANUMERIC + b"._?@$()<>"
_INVALID_DLL = b"*invalid*"

Wanted = Callable[[bytes], bool]  # whether a DLL's imported names are wanted


def imported_dlls(image: PeImage, wanted: Wanted) -> Iterator[tuple[bytes, list[bytes]]]:
    """(DLL name, names imported from it) per descriptor, import table then delay-load
    table; the names are listed only for DLLs `wanted` accepts, empty for the rest."""
    reader = _TableReader(image)
    for index, shape in (
        (IMPORT_DIRECTORY, _IMPORT_DESCRIPTOR),
        (DELAY_DIRECTORY, _DELAY_DESCRIPTOR),
    ):
        if index < len(image.directories) and image.directories[index][0]:
            yield from _walk(reader, image.directories[index][0], shape, wanted)


def _walk(
    reader: _TableReader, rva: int, shape: struct.Struct, wanted: Wanted
) -> Iterator[tuple[bytes, list[bytes]]]:
    image = reader.image
    empty = 0
    while True:
        span = image.span(rva, shape.size)
        if span is None or span[1] - span[0] < shape.size:
            return
        file_offset = span[0]
        fields = shape.unpack_from(image.data, file_offset)
        if not any(fields):
            return
        rva += shape.size
        if shape is _IMPORT_DESCRIPTOR:
            lookup, addresses, name_rva, holds_vas = fields[0], fields[4], fields[3], False
        else:
            holds_vas = fields[0] == 0 and image.machine == _I386  # pre-VC6 descriptors
            name_rva = reader.rva_of(fields[1], holds_vas)
            addresses = reader.rva_of(fields[3], holds_vas)
            lookup = reader.rva_of(fields[4], holds_vas)
        limit = image.size - file_offset
        if rva > lookup or rva > addresses:
            limit = max(rva - lookup, rva - addresses)
        dll = image.string(name_rva, _MAX_NAME) or b""
        entries = reader.entries(lookup, addresses, limit, holds_vas, names=wanted(dll))
        if empty > _MAX_EMPTY_DESCRIPTORS:
            return
        if entries is None:
            empty += 1
            continue
        dll = dll if only(dll, _DLL_NAME_BYTES) else _INVALID_DLL
        if dll:
            yield dll, entries


class _TableReader:
    """Reads import lookup tables, sharing one budget of entries across the image."""

    def __init__(self, image: PeImage) -> None:
        self.image = image
        self.code, self.size = ("Q", 8) if image.is64 else ("I", 4)  # one table entry
        self.ordinal_flag = 1 << (63 if image.is64 else 31)
        self.budget = image.size // self.size + 1

    def rva_of(self, value: int, holds_vas: bool) -> int:
        """An address as an RVA: old descriptors hold virtual addresses inside the image."""
        base = self.image.image_base
        if holds_vas and base <= value < base + self.image.image_size:
            return value - base
        return value

    def entries(
        self, lookup: int, addresses: int, limit: int, holds_vas: bool, *, names: bool
    ) -> list[bytes] | None:
        """Names imported through one descriptor's table (the lookup table, else the
        address table), or None when neither yields an entry pefile would keep."""
        table = self._table(lookup, limit, holds_vas) or self._table(addresses, limit, holds_vas)
        if not table:
            return None
        return self._names(table, want=names)

    def _table(self, rva: int, limit: int, holds_vas: bool) -> list[int] | None:
        """The entries from `rva` to the null one; None when the table cannot be read.
        An entry pointing into its own table, or an ordinal past 16 bits, ends the table
        as pefile ends it: looked for one entry at a time only where one may be."""
        image, size, flag = self.image, self.size, self.ordinal_flag
        start, values, entries = rva, list[int](), _FIRST_CHUNK
        while rva and rva < start + limit:
            span = image.span(rva, min(start + limit - rva, entries * size))
            entries *= 2  # most tables are short; a long one is read in growing chunks
            if span is None or span[1] - span[0] < size:
                return None
            count = (span[1] - span[0]) // size
            chunk = struct.unpack_from(f"<{count}{self.code}", image.data, span[0])
            if holds_vas:
                chunk = tuple(self.rva_of(value, True) for value in chunk)
            ended = 0 in chunk
            chunk = chunk[: chunk.index(0)] if ended else chunk
            if chunk and (min(chunk) <= rva + size * len(chunk) or max(chunk) >= flag):
                for value in chunk:
                    if start <= value <= rva:
                        return self._charged(values)
                    if value & flag and value & 0x7FFFFFFF > 0xFFFF:
                        self._charged(values)
                        return []
                    values.append(value)
                    rva += size
            else:
                values.extend(chunk)
                rva += size * len(chunk)
            if ended:
                break
        return self._charged(values)

    def _charged(self, values: list[int]) -> list[int]:
        """`values`, counted against the entries the file has room for."""
        self.budget -= len(values) + 1
        if self.budget < 0:
            self.image.fail("the import tables hold more entries than the file has room for")
        return values

    def _names(self, table: list[int], *, want: bool) -> list[bytes] | None:
        """The function names of `table` (when wanted); None when no entry is usable."""
        image, flag = self.image, self.ordinal_flag
        hints = [value & (flag - 1) for value in table if not value & flag]
        if hints and max(hints) >= image.size and any(image.offset(h) is None for h in hints):
            return None  # a hint lying nowhere: pefile drops the whole descriptor
        # Names of other DLLs are read only until one shows the descriptor is usable.
        read = iter(image.strings([hint + 2 for hint in hints], _MAX_NAME)) if want else None
        names: list[bytes] = []
        usable, invalid = False, 0
        for index, value in enumerate(table):
            if value & flag:
                usable = usable or bool(value & 0xFFFF)
                continue
            if read is None and usable:
                break
            name = next(read) if read is not None else image.string(value + 2, _MAX_NAME)
            name = name or b""  # an unmapped name reads as empty, as pefile reads it
            if not only(name, _FUNCTION_NAME_BYTES):
                if invalid > _MAX_LEADING_INVALID and invalid == index:
                    return None
                invalid += 1
            elif name:
                usable = True
                names.append(name)
        return names if usable else None
