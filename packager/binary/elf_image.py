"""One ELF image: its header, segments and sections, each read with bounds checks.

The reader (`packager.binary.elf`) asks this view for tables and strings; every offset,
size and count is checked against the file before use, and anything inconsistent raises
UnreadableInputError naming the file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple, NoReturn

from packager.binary.pyversion import Buffer
from packager.core.errors import UnreadableInputError

PT_LOAD = 1
SHT_NOBITS = 8
SHN_XINDEX, PN_XNUM = 0xFFFF, 0xFFFF
# Names are bytes to ELF; undecodable ones stay visible without breaking text output.
NAME_ENCODING, NAME_ERRORS = "utf-8", "backslashreplace"


class Structs(NamedTuple):
    ehdr: struct.Struct  # the header after e_ident
    phdr: struct.Struct
    shdr: struct.Struct
    dyn: struct.Struct
    sym: struct.Struct
    verneed: struct.Struct  # Elf_Verneed and Elf_Vernaux share one 16-byte shape
    vernaux: struct.Struct


def structs(order: str, is64: bool) -> Structs:
    if is64:
        formats = ("HHIQQQIHHHHHH", "IIQQQQQQ", "IIQQQQIIQQ", "QQ", "IBBHQQ")
    else:
        formats = ("HHIIIIIHHHHHH", "IIIIIIII", "IIIIIIIIII", "II", "IIIBBH")
    shapes = [struct.Struct(order + fmt) for fmt in (*formats, "HHIII", "IHHII")]
    return Structs(*shapes)


LAYOUTS = {(order, is64): structs(order, is64) for order in "<>" for is64 in (False, True)}


class Section(NamedTuple):
    name: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


class ElfImage:
    """One ELF image: the header fields and tables, each validated as it is read."""

    def __init__(self, path: str, data: Buffer) -> None:
        self.path, self.data, self.size = path, data, len(data)
        if self.size < 16 or data[:4] != b"\x7fELF":
            self.fail("no ELF identification")
        ei_class, ei_data = data[4], data[5]
        if ei_class not in (1, 2) or ei_data not in (1, 2):
            self.fail(f"bad class {ei_class} or byte order {ei_data}")
        self.is64, self.little = ei_class == 2, ei_data == 1
        self.st = LAYOUTS[("<" if self.little else ">", self.is64)]
        header = self.unpack(self.st.ehdr, 16, "ELF header")
        self.type, self.machine = header[0], header[1]
        phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx = header[4:6] + header[8:]
        if shoff and (shnum == 0 or phnum == PN_XNUM or shstrndx == SHN_XINDEX):
            # Extended numbering: values that overflow 16 bits live in section 0.
            first = self._first_section(shoff, shentsize)
            shnum = shnum or first.size
            phnum = first.info if phnum == PN_XNUM else phnum
            shstrndx = first.link if shstrndx == SHN_XINDEX else shstrndx
        self.shstrndx = shstrndx
        self.segments = list(self.table(phoff, phnum, phentsize, self.st.phdr, "program headers"))
        self.sections = [
            Section(*fields)
            for fields in self.table(shoff, shnum, shentsize, self.st.shdr, "section headers")
        ]

    def fail(self, what: str) -> NoReturn:
        raise UnreadableInputError(f"truncated or malformed ELF: {what}", path=self.path)

    def unpack(self, shape: struct.Struct, offset: int, what: str) -> tuple[int, ...]:
        if offset < 0 or offset + shape.size > self.size:
            self.fail(f"{what} past the end of the file")
        return shape.unpack_from(self.data, offset)

    def span(self, offset: int, size: int, what: str) -> tuple[int, int]:
        """(start, end) of a region after checking it lies inside the file."""
        if offset < 0 or size < 0 or offset + size > self.size:
            self.fail(f"{what} (offset {offset:#x}, size {size:#x}) outside the file")
        return offset, offset + size

    def table(
        self, offset: int, count: int, entsize: int, shape: struct.Struct, what: str
    ) -> Iterator[tuple[int, ...]]:
        """Entries of a header table; the count is capped by what the file can hold."""
        if count == 0:
            return
        if entsize < shape.size:
            self.fail(f"{what} entry size {entsize}")
        start, _ = self.span(offset, count * entsize, what)
        for index in range(count):
            fields = shape.unpack_from(self.data, start + index * entsize)
            yield _normalize_phdr(fields, self.is64) if shape is self.st.phdr else fields

    def cstring(self, offset: int, end: int, what: str) -> str:
        """The NUL-terminated string at `offset`, which must end before `end`."""
        stop = self.data.find(b"\0", offset, end) if 0 <= offset < end else -1
        if stop < 0:
            self.fail(f"{what} string at {offset:#x} runs past its table")
        return self.data[offset:stop].decode(NAME_ENCODING, NAME_ERRORS)

    def section(self, index: int, what: str) -> Section:
        if not 0 < index < len(self.sections):
            self.fail(f"{what} refers to section {index}")
        return self.sections[index]

    def section_span(self, section: Section, what: str) -> tuple[int, int]:
        if section.type == SHT_NOBITS:
            self.fail(f"{what} has no data in the file")
        return self.span(section.offset, section.size, what)

    def vaddr_span(self, vaddr: int, size: int) -> tuple[int, int] | None:
        """File region of a virtual address range, through the PT_LOAD segments."""
        for p_type, p_offset, p_vaddr, p_filesz, _ in self.segments:
            if p_type == PT_LOAD and p_vaddr <= vaddr and vaddr + size <= p_vaddr + p_filesz:
                return self.span(p_offset + vaddr - p_vaddr, size, "dynamic table")
        return None

    def _first_section(self, shoff: int, shentsize: int) -> Section:
        if shentsize < self.st.shdr.size:
            self.fail(f"section header entry size {shentsize}")
        return Section(*self.unpack(self.st.shdr, shoff, "section header 0"))


def _normalize_phdr(fields: tuple[int, ...], is64: bool) -> tuple[int, ...]:
    """(p_type, p_offset, p_vaddr, p_filesz, p_align): the two classes order the fields
    differently."""
    if is64:
        return fields[0], fields[2], fields[3], fields[5], fields[7]
    return fields[0], fields[1], fields[2], fields[4], fields[7]
