"""One PE image: its headers, sections and data directories, each read with bounds checks.

The reader (`packager.binary.pe`) asks this view for structs and strings by RVA; every
offset and count is checked against the file before use, and anything inconsistent
raises UnreadableInputError naming the file. RVAs map to the file as pefile maps them
(the test oracle): through the section that holds them, else one to one when they lie
inside the file (headers, and files that rely on the loader mapping their first page).
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Sequence
from itertools import accumulate, count, islice
from operator import add
from typing import NamedTuple, NoReturn

from packager.binary.pyversion import Buffer
from packager.core.errors import UnreadableInputError

_DOS_HEADER_SIZE = 64
_PE_SIGNATURE = b"PE\0\0"
_FILE_HEADER = struct.Struct("<HHIIIHH")
# Name, VirtualSize, VirtualAddress, SizeOfRawData, PointerToRawData, then the rest.
_SECTION_HEADER = struct.Struct("<8sIIIIIIHHI")
_SECTION_HEADER_SIZE = 40
_NULL_SECTION = _SECTION_HEADER.unpack(bytes(_SECTION_HEADER_SIZE))
_MAX_SECTIONS = 0x800  # pefile reads no more
_DIRECTORY = struct.Struct("<II")
_MAX_DIRECTORIES = 16  # Windows reads no more, whatever NumberOfRvaAndSizes says
_PE32, _PE32_PLUS = 0x10B, 0x20B
# Per optional-header magic: (fixed size, ImageBase format and offset, NumberOfRvaAndSizes
# offset); SectionAlignment, FileAlignment and SizeOfImage sit at the same offsets in both.
_OPTIONAL_LAYOUT = {_PE32: (96, "<I", 28, 92), _PE32_PLUS: (112, "<Q", 24, 108)}
_PAGE_SIZE = 0x1000
_SECTOR_MASK = ~0x1FF  # section data is read from PointerToRawData rounded down to 512


# Letters and digits: every name check below allows them, plus its own punctuation.
ALPHANUMERIC = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def only(name: bytes, allowed: bytes) -> bool:
    """Whether every byte of `name` is one of `allowed` (C speed, unlike a loop)."""
    return not name.translate(None, allowed)


class Section(NamedTuple):
    name: bytes  # NUL padding removed
    address: int  # VirtualAddress as declared
    start: int  # first RVA, rounded down to the section alignment
    end: int  # one past the last RVA this section answers for
    raw_pointer: int  # PointerToRawData as declared
    raw_size: int  # SizeOfRawData
    raw_start: int  # file offset of `start`: PointerToRawData rounded down to 512
    raw_end: int  # no byte of the section lies at or past this file offset


class PeImage:
    """One PE image: the header fields and sections, each validated as it is read."""

    def __init__(self, path: str, data: Buffer) -> None:
        self.path, self.data, self.size = path, data, len(data)
        if self.size < _DOS_HEADER_SIZE:
            self.fail("the DOS header is cut short")
        if data[:2] != b"MZ":
            self.fail("no MZ signature at the start of the file")
        nt = int.from_bytes(data[0x3C:0x40], "little")
        if nt + 8 > self.size:
            self.fail(f"the PE header offset {nt:#x} lies past the end of the file")
        if data[nt : nt + 4] != _PE_SIGNATURE:
            self.fail(f"no PE signature at offset {nt:#x}")
        fields = self.unpack(_FILE_HEADER, nt + 4, "file header")
        self.machine, section_count = fields[0], fields[1]
        self.symbol_table, self.symbol_count = fields[3], fields[4]
        optional_size, self.characteristics = fields[5], fields[6]
        headers_end = nt + 24 + optional_size + _SECTION_HEADER_SIZE * section_count
        if headers_end > self.size:
            self.fail(f"headers end at {headers_end}, past the end of the file")
        directories_at, declared, self.image_base = self._optional(nt + 24)
        self.directories = self._directories(directories_at, declared)
        self.sections = self._sections(nt + 24 + optional_size, section_count)
        self._starts = [section.start for section in self.sections]
        # The furthest end of any section up to each one: where lookups stop short.
        self._reach = list(accumulate((section.end for section in self.sections), max))

    def fail(self, what: str) -> NoReturn:
        raise UnreadableInputError(f"truncated or malformed PE: {what}", path=self.path)

    def unpack(self, shape: struct.Struct, offset: int, what: str) -> tuple[int, ...]:
        if offset < 0 or offset + shape.size > self.size:
            self.fail(f"{what} past the end of the file")
        values: tuple[int, ...] = shape.unpack_from(self.data, offset)
        return values

    def _optional(self, at: int) -> tuple[int, int, int]:
        """Read the optional header's fields at `at` into attributes; return where the
        data directories start, how many it declares, and ImageBase."""
        magic = int.from_bytes(self.data[at : at + 2], "little")
        if magic not in _OPTIONAL_LAYOUT:
            self.fail(f"optional header magic {magic:#x} is neither PE32 nor PE32+")
        fixed, base_format, base_at, count_at = _OPTIONAL_LAYOUT[magic]
        if at + fixed > self.size:
            self.fail("optional header past the end of the file")
        self.is64 = magic == _PE32_PLUS
        self.alignments: tuple[int, int] = struct.unpack_from("<II", self.data, at + 32)
        (self.image_size,) = struct.unpack_from("<I", self.data, at + 56)
        (declared,) = struct.unpack_from("<I", self.data, at + count_at)
        (image_base,) = struct.unpack_from(base_format, self.data, at + base_at)
        return at + fixed, declared, image_base

    def _directories(self, at: int, declared: int) -> list[tuple[int, int]]:
        """(VirtualAddress, Size) of each declared data directory that the file holds."""
        count = min(declared & 0x7FFFFFFF, _MAX_DIRECTORIES, (self.size - at) // _DIRECTORY.size)
        return [_DIRECTORY.unpack_from(self.data, at + 8 * index) for index in range(count)]

    def _sections(self, at: int, count: int) -> list[Section]:
        """The section table sorted by address, each section's range cut where the next
        one starts; a section whose bytes run past the end of the file is refused."""
        table = self.data[at : at + _SECTION_HEADER_SIZE * min(count, _MAX_SECTIONS)]
        headers = []
        for header in _SECTION_HEADER.iter_unpack(table):
            if header == _NULL_SECTION:
                break  # pefile ends the table at a header of zeros
            headers.append(header[:5])
        headers.sort(key=lambda header: header[2])
        sections = []
        for index, (name, virtual_size, address, raw_size, raw_pointer) in enumerate(headers):
            if raw_pointer + raw_size > self.size:
                text = name.rstrip(b"\0").decode("ascii", "replace")
                self.fail(f"section {text} ends past the end of the file")
            start = self._section_start(address)
            end = start + max(raw_size, virtual_size)
            if index + 1 < len(headers) and address < headers[index + 1][2] < end:
                end = headers[index + 1][2]
            raw_start, raw_end = raw_pointer & _SECTOR_MASK, raw_pointer + raw_size
            fields = (address, start, end, raw_pointer, raw_size, raw_start, raw_end)
            sections.append(Section(name.rstrip(b"\0"), *fields))
        return sections

    def _section_start(self, address: int) -> int:
        section_alignment, file_alignment = self.alignments
        if section_alignment < _PAGE_SIZE:
            section_alignment = file_alignment
        if section_alignment:
            return address - address % section_alignment
        return address

    def section_of(self, rva: int) -> Section | None:
        """The section holding `rva`: the first, by address, whose range covers it."""
        starting_before = bisect.bisect_right(self._starts, rva)
        if starting_before == 0 or self._reach[starting_before - 1] <= rva:
            return None
        # Real files have one candidate; overlapping ranges (hostile ones) take the first.
        return self.sections[bisect.bisect_right(self._reach, rva, hi=starting_before)]

    def offset(self, rva: int) -> int | None:
        """The file offset of `rva`, or None when neither a section nor the file holds it."""
        section = self.section_of(rva)
        if section is not None:
            return rva - section.start + section.raw_start
        return rva if 0 <= rva < self.size else None

    def span(self, rva: int, length: int) -> tuple[int, int] | None:
        """(start, end) in the file of up to `length` bytes at `rva`, cut short where the
        section's data ends; None when the RVA maps nowhere."""
        section = self.section_of(rva)
        if section is not None:
            start = rva - section.start + section.raw_start
            return start, max(start, min(start + length, section.raw_end, self.size))
        if 0 <= rva < self.size:
            return rva, min(rva + length, self.size)
        return None

    def read(self, rva: int, length: int) -> bytes | None:
        """Up to `length` bytes at `rva` (fewer where its section ends), None if unmapped."""
        span = self.span(rva, length)
        return None if span is None else bytes(self.data[span[0] : span[1]])

    def string(self, rva: int, limit: int) -> bytes | None:
        """The NUL-terminated string at `rva`, at most `limit` bytes; None if unmapped."""
        span = self.span(rva, limit)
        if span is None:
            return None
        start, end = span
        stop = self.data.find(b"\0", start, end)
        return bytes(self.data[start : end if stop < 0 else stop])

    def strings(self, rvas: Sequence[int], limit: int) -> list[bytes | None]:
        """`string` of each RVA. Names laid end to end in one section, as linkers lay out
        an export name table, are split out at once rather than found one by one."""
        section = self.section_of(rvas[0]) if rvas else None
        if section is None or self.section_of(rvas[-1]) is not section:
            return [self.string(rva, limit) for rva in rvas]
        shift = section.raw_start - section.start
        first, end = rvas[0] + shift, min(rvas[-1] + shift + limit, section.raw_end)
        pieces = bytes(self.data[first:end]).split(b"\0", len(rvas))[: len(rvas)]
        # Each piece starts one byte (the NUL) past the end of the one before it.
        starts = map(add, accumulate(map(len, pieces), initial=first), count())
        if list(map(shift.__add__, rvas)) != list(islice(starts, len(rvas))):
            return [self.string(rva, limit) for rva in rvas]
        if max(map(len, pieces)) > limit:
            return [self.string(rva, limit) for rva in rvas]
        return list(pieces)

    def section_span(self, name: bytes) -> tuple[int, int] | None:
        """(offset, size) of the first section called `name`, cut to the file."""
        for section in self.sections:
            if section.name == name:
                offset, size = section.raw_pointer, section.raw_size
                return offset, max(0, min(size, self.size - offset))
        return None
