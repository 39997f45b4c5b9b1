"""ELF reader: what packager needs from an ELF file, read with struct over its bytes.

Hand-written rather than pyelftools so `inspect` stays within a small multiple of readelf:
only the headers and the tables named below are read, and symbol names are matched
against the string table's `Py`/`_Py` positions before any name is decoded. Every
offset, size and count is checked against the file before use; anything inconsistent
raises UnreadableInputError.
"""

from __future__ import annotations

import re
import struct
import sys
from array import array
from collections.abc import Iterator
from itertools import compress
from typing import NamedTuple

from packager.binary import pyversion
from packager.binary.elf_image import (
    NAME_ENCODING,
    NAME_ERRORS,
    PT_LOAD,
    SHT_NOBITS,
    ElfImage,
    Section,
)
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary, PythonSymbolTable
from packager.binary.pyversion import Buffer
from packager.core.errors import UnreadableInputError
from packager.targets.machines import elf_machine_name

ET_REL, ET_EXEC, ET_DYN = 1, 2, 3
PT_DYNAMIC, PT_INTERP = 2, 3
SHT_PROGBITS, SHT_SYMTAB, SHT_DYNAMIC, SHT_DYNSYM = 1, 2, 6, 11
SHT_GNU_VERNEED = 0x6FFFFFFE
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 10, 14, 15, 29
DT_FLAGS_1, DF_1_PIE = 0x6FFFFFFB, 0x08000000
SHN_UNDEF, SHN_LORESERVE = 0, 0xFF00
STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 1, 2, 10
STV_DEFAULT, STV_PROTECTED = 0, 3

_EXPORTED_BINDINGS = frozenset({STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE})
_EXPORTED_VISIBILITIES = frozenset({STV_DEFAULT, STV_PROTECTED})
_PY_AT = re.compile(rb"Py")
_UNDERSCORE_PY_AT = re.compile(rb"_Py")
_GLIBC_VERSION = re.compile(r"GLIBC_([0-9]+(?:\.[0-9]+)+)")
_UINT32 = "I"  # array typecode of a 4-byte unsigned int on every platform CPython supports


class _Dynamic(NamedTuple):
    needed: list[int]  # DT_NEEDED string offsets, in order
    tags: dict[int, int]  # every other tag: its last value, as ld.so keeps it


class _Symbols:
    """Py* names collected from the symbol tables (a plain class: @dataclass costs start-up)."""

    def __init__(self) -> None:
        self.exported: set[str] = set()
        self.needed: set[str] = set()
        self.defined: set[str] = set()  # in either table
        self.pyinit: set[str] = set()
        self.version_at: tuple[int, int, int] | None = None  # Py_Version value, size, shndx


def parse(path: str, data: Buffer) -> list[ParsedBinary]:
    """Read one ELF image from `data` (an mmap or bytes) into a one-element list."""
    try:
        return [_parse(ElfImage(path, data))]
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        # Every read is validated first; this only keeps a missed case a clean error.
        raise UnreadableInputError(f"truncated or malformed ELF: {exc}", path=path) from exc


def _parse(elf: ElfImage) -> ParsedBinary:
    interpreter = _interpreter(elf)
    dynamic = _dynamic(elf)
    str_start, str_end = _dynamic_strings(elf, dynamic)

    def dynamic_string(offset: int | None) -> str | None:
        return None if offset is None else elf.cstring(str_start + offset, str_end, "dynamic")

    symbols = _python_symbols(elf)
    tags = dynamic.tags
    rpath = dynamic_string(tags.get(DT_RUNPATH, tags.get(DT_RPATH)))  # ld.so ignores RPATH then
    kind = _kind(elf.type, interpreter is not None, tags)
    needed = [elf.cstring(str_start + offset, str_end, "DT_NEEDED") for offset in dynamic.needed]
    return ParsedBinary(
        format=BinaryFormat.ELF,
        arch=elf_machine_name(elf.is64, elf.little, elf.machine),
        kind=kind,
        needed=tuple(needed),
        rpaths=tuple(rpath.split(":")) if rpath is not None else (),
        runpath=DT_RUNPATH in tags,
        symbols=PythonSymbolTable(
            exported=tuple(sorted(symbols.exported)),
            needed=tuple(sorted(symbols.needed)),
            local=tuple(sorted(symbols.defined - symbols.exported)),
            pyinit=tuple(sorted(symbols.pyinit)),
        ),
        embedded_python_version=pyversion.embedded_version(
            elf.data,
            _rodata(elf),
            defined=symbols.defined,
            imports_python=bool(symbols.needed),
            version_hex=_version_hex(elf, symbols.version_at),
        ),
        interpreter=interpreter,
        soname=dynamic_string(tags.get(DT_SONAME)),
        glibc_floor=_glibc_floor(elf),
        misaligned_loads=_misaligned_loads(elf),
    )


def _kind(elf_type: int, has_interp: bool, tags: dict[int, int]) -> BinaryKind:
    if elf_type == ET_REL:
        return BinaryKind.OBJECT
    if elf_type == ET_EXEC:
        return BinaryKind.EXECUTABLE
    if elf_type == ET_DYN:
        # libc.so.6 has a PT_INTERP too (it can be run), but a PIE has no DT_SONAME.
        if tags.get(DT_FLAGS_1, 0) & DF_1_PIE or (has_interp and DT_SONAME not in tags):
            return BinaryKind.EXECUTABLE
        return BinaryKind.SHARED_LIBRARY
    return BinaryKind.OTHER


def _interpreter(elf: ElfImage) -> str | None:
    for p_type, p_offset, _, p_filesz, _ in elf.segments:
        if p_type == PT_INTERP:
            start, end = elf.span(p_offset, p_filesz, "PT_INTERP")
            return elf.cstring(start, end, "PT_INTERP")
    return None


def _dynamic(elf: ElfImage) -> _Dynamic:
    """DT_* entries up to DT_NULL, from PT_DYNAMIC (what ld.so reads) or the section."""
    region = next(
        ((off, size) for kind, off, _, size, _ in elf.segments if kind == PT_DYNAMIC), None
    )
    if region is None:
        region = next(((s.offset, s.size) for s in elf.sections if s.type == SHT_DYNAMIC), None)
    result = _Dynamic([], {})
    if region is None:
        return result
    start, end = elf.span(*region, "dynamic section")
    entry = elf.st.dyn.size
    for tag, value in elf.st.dyn.iter_unpack(elf.data[start : end - (end - start) % entry]):
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            result.needed.append(value)
        else:
            result.tags[tag] = value
    return result


def _dynamic_strings(elf: ElfImage, dynamic: _Dynamic) -> tuple[int, int]:
    """File span of the dynamic string table: DT_STRTAB, else the .dynamic section's link.

    Without either it is empty, so looking up any name in it fails cleanly.
    """
    if DT_STRTAB in dynamic.tags:
        region = elf.vaddr_span(dynamic.tags[DT_STRTAB], dynamic.tags.get(DT_STRSZ, 0))
        if region is not None:
            return region
    for section in elf.sections:
        if section.type == SHT_DYNAMIC:
            return elf.section_span(elf.section(section.link, ".dynamic"), ".dynstr")
    return 0, 0


def _python_symbols(elf: ElfImage) -> _Symbols:
    symbols = _Symbols()
    for section in elf.sections:
        if section.type in (SHT_DYNSYM, SHT_SYMTAB):
            _scan_symbols(elf, section, symbols)
    return symbols


def _scan_symbols(elf: ElfImage, section: Section, symbols: _Symbols) -> None:
    """Add the table's Py*/_Py* symbols; other names are never decoded."""
    shape = elf.st.sym
    if section.entsize not in (0, shape.size):
        elf.fail(f"symbol entry size {section.entsize}")
    start, end = elf.section_span(section, "symbol table")
    str_start, str_end = elf.section_span(elf.section(section.link, "symbol table"), "strtab")
    strings = elf.data[str_start:str_end]
    py_offsets = _py_name_offsets(strings)
    if not py_offsets:
        return
    if strings[-1] != 0:
        elf.fail("symbol string table does not end with NUL")
    count = (end - start) // shape.size
    words = array(_UINT32, elf.data[start : start + count * shape.size])
    if elf.little != (sys.byteorder == "little"):
        words.byteswap()
    step = shape.size // 4
    names = words[0::step]  # st_name is the first word of both layouts
    # st_info, st_other and st_shndx share one word: the second (ELF64) or the last (ELF32).
    packed = words[1::step] if elf.is64 else words[3::step]
    matched = py_offsets.intersection(names)
    dynamic = section.type == SHT_DYNSYM
    for index in compress(range(count), map(matched.__contains__, names)):
        name_offset, word = names[index], packed[index]
        name = strings[name_offset : strings.index(0, name_offset)].decode(
            NAME_ENCODING, NAME_ERRORS
        )
        if elf.little:
            info, other, shndx = word & 0xFF, (word >> 8) & 0xFF, word >> 16
        else:
            info, other, shndx = word >> 24, (word >> 16) & 0xFF, word & 0xFFFF
        _classify(symbols, name, dynamic, info, other, shndx)
        if name == pyversion.VERSION_SYMBOL and shndx != SHN_UNDEF:
            fields = shape.unpack_from(elf.data, start + index * shape.size)
            value, size = fields[4:6] if elf.is64 else fields[1:3]
            symbols.version_at = (value, size, shndx)


def _py_name_offsets(strings: bytes) -> set[int]:
    """Offsets in a string table where a Py*/_Py* name starts.

    A symbol matches when its st_name is one of them; a linker that merges string tails
    points "PyFoo" into the middle of "_PyFoo", so both starts count.
    """
    offsets = {match.start() for match in _PY_AT.finditer(strings)}
    offsets.update([match.start() for match in _UNDERSCORE_PY_AT.finditer(strings)])
    return offsets


def _classify(
    symbols: _Symbols, name: str, dynamic: bool, info: int, other: int, shndx: int
) -> None:
    if shndx == SHN_UNDEF:
        if dynamic:
            symbols.needed.add(name)
        return
    symbols.defined.add(name)
    if name.startswith("PyInit_"):
        symbols.pyinit.add(name)
    if dynamic and info >> 4 in _EXPORTED_BINDINGS and other & 3 in _EXPORTED_VISIBILITIES:
        symbols.exported.add(name)


def _misaligned_loads(elf: ElfImage) -> int:
    """PT_LOAD segments whose file offset and address disagree modulo their alignment:
    the loader cannot map them (a tool that rewrote the file broke it)."""
    return sum(
        1
        for p_type, p_offset, p_vaddr, _, p_align in elf.segments
        if p_type == PT_LOAD and p_align > 1 and p_offset % p_align != p_vaddr % p_align
    )


def _glibc_floor(elf: ElfImage) -> str | None:
    """Highest GLIBC_x.y[.z] in .gnu.version_r, compared numerically."""
    section = next((s for s in elf.sections if s.type == SHT_GNU_VERNEED), None)
    if section is None:
        return None
    start, end = elf.section_span(section, ".gnu.version_r")
    str_start, str_end = elf.section_span(elf.section(section.link, "verneed"), "verneed strtab")
    best: tuple[int, ...] = ()
    for name_offset in _vernaux_names(elf, start, end):
        found = _GLIBC_VERSION.fullmatch(elf.cstring(str_start + name_offset, str_end, "verneed"))
        if found:
            best = max(best, tuple(int(part) for part in found.group(1).split(".")))
    return ".".join(map(str, best)) if best else None


def _vernaux_names(elf: ElfImage, start: int, end: int) -> Iterator[int]:
    """vna_name of every Vernaux entry; vn_next/vna_next chains may loop, so each record
    costs one unit of a budget no larger than the number of records the section holds."""
    budget = (end - start) // elf.st.verneed.size
    need = start
    while budget > 0:
        _, count, _, aux_offset, next_need = _record(elf, elf.st.verneed, need, end)
        aux = need + aux_offset
        for _ in range(min(count, budget)):
            budget -= 1
            _, _, _, name_offset, next_aux = _record(elf, elf.st.vernaux, aux, end)
            yield name_offset
            if next_aux == 0:
                break
            aux += next_aux
        budget -= 1
        if next_need == 0:
            return
        need += next_need


def _record(elf: ElfImage, shape: struct.Struct, offset: int, end: int) -> tuple[int, ...]:
    if offset + shape.size > end:
        elf.fail("version record past the end of .gnu.version_r")
    return elf.unpack(shape, offset, "version record")


def _version_hex(elf: ElfImage, located: tuple[int, int, int] | None) -> int | None:
    """Py_Version's PY_VERSION_HEX value, read through the section that holds it."""
    if located is None:
        return None
    value, size, shndx = located
    if size not in (4, 8) or shndx >= SHN_LORESERVE or shndx >= len(elf.sections):
        return None
    section = elf.sections[shndx]
    offset = value if elf.type == ET_REL else value - section.addr
    if section.type == SHT_NOBITS or not 0 <= offset <= section.size - size:
        return None
    start, end = elf.span(section.offset + offset, size, "Py_Version")
    return int.from_bytes(elf.data[start:end], "little" if elf.little else "big")


def _rodata(elf: ElfImage) -> tuple[int, int] | None:
    """(offset, size) of .rodata, where compilers put string literals such as PY_VERSION."""
    if not elf.sections:
        return None
    names = elf.section(elf.shstrndx, "e_shstrndx") if elf.shstrndx else None
    if names is None:
        return None
    names_start, names_end = elf.section_span(names, ".shstrtab")
    for section in elf.sections:
        if section.type == SHT_PROGBITS and 0 <= section.name < names_end - names_start:
            position = names_start + section.name
            if elf.data[position : position + 8] == b".rodata\0":
                elf.span(section.offset, section.size, ".rodata")
                return section.offset, section.size
    return None
