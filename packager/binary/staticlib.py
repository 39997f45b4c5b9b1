"""Read a static libpython (`ar` archive) and diagnose it before anything links it.

Two things make a static embedding fail at link time: objects that are not
position-independent (Rust links PIE executables, so absolute 32-bit relocations are
rejected) and objects that hold LTO bytecode instead of machine code (only the compiler
that wrote them can read them). Both are visible in the archive's ELF members, which are
read here directly: the file is mapped, and only headers, section tables and the
relocation sections of loaded sections are touched.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from packager.core.errors import UnreadableInputError
from packager.targets.machines import ELF_MACHINES

_AR_MAGIC = b"!<arch>\n"
_THIN_MAGIC = b"!<thin>\n"
_HEADER = struct.Struct("16s12s6s6s8s10s2s")
_ELF_MAGIC = b"\x7fELF"
_BITCODE_MAGICS = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")  # raw LLVM bitcode, bitcode wrapper

_SHT_RELA = 4
_SHF_WRITE = 0x1
_SHF_ALLOC = 0x2
_EM_X86_64 = 62
# Absolute 32-bit relocations: the linker cannot turn them into PIE/shared-object code.
# (Relocations of debug sections are excluded: DWARF uses R_X86_64_32 in PIC objects too.)
_NON_PIC_TYPES = {_EM_X86_64: (10, 11)}  # R_X86_64_32, R_X86_64_32S
_SAMPLE = 5


@dataclass(frozen=True)
class ArchiveDiagnosis:
    """What a static library holds, for deciding whether (and how) it can be linked."""

    path: str
    members: int  # object files, not counting the symbol and long-name tables
    elf_members: int
    machine: str | None  # e_machine of the ELF members, e.g. "x86_64"
    pic: bool | None  # None: not checked (no ELF members, or a machine not handled)
    non_pic_relocations: int  # absolute 32-bit relocations in loaded sections
    non_pic_member_count: int
    non_pic_members: tuple[str, ...]  # the first few offenders, archive order
    lto: str | None  # "gcc" or "clang" when members hold LTO bytecode
    lto_slim: bool  # some LTO member has no machine code at all (cannot link without LTO)
    lto_members: tuple[str, ...]  # the first few LTO members

    @property
    def linkable_into_pie(self) -> bool:
        """Whether a default (PIE) Rust link can use this archive as it is."""
        return self.pic is not False and not self.lto_slim


@dataclass(frozen=True)
class ArchiveMember:
    """One file inside an archive: its name and where its bytes are."""

    name: str
    start: int  # offset of the member's data in the file
    size: int


@dataclass
class _Tally:
    elf_members: int = 0
    machine: int | None = None
    relocations: int = 0
    non_pic: list[str] | None = None
    non_pic_count: int = 0
    lto: str | None = None
    lto_slim: bool = False
    lto_members: list[str] | None = None


def diagnose_archive(path: str | os.PathLike[str]) -> ArchiveDiagnosis:
    """Diagnose a static library; UnreadableInputError if it is not a readable `ar` archive."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise UnreadableInputError("empty file, not an ar archive", path=name)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                return _diagnose(name, memoryview(mapped))
            finally:
                # A traceback may still hold a view into the map; the collector unmaps it then.
                with contextlib.suppress(BufferError):
                    mapped.close()
    except OSError as exc:
        raise UnreadableInputError(
            f"cannot read: {exc.strerror}", path=name, fix="check the path"
        ) from exc


def _diagnose(name: str, data: memoryview) -> ArchiveDiagnosis:
    tally = _Tally(non_pic=[], lto_members=[])
    members = 0
    for member in iter_members(data, name):
        members += 1
        with data[member.start : member.start + member.size] as blob:
            _inspect_member(blob, member.name, tally, name)
    assert tally.non_pic is not None and tally.lto_members is not None
    checked = tally.machine in _NON_PIC_TYPES
    return ArchiveDiagnosis(
        path=name,
        members=members,
        elf_members=tally.elf_members,
        machine=None if tally.machine is None else _machine_name(tally.machine),
        pic=(tally.non_pic_count == 0) if checked else None,
        non_pic_relocations=tally.relocations,
        non_pic_member_count=tally.non_pic_count,
        non_pic_members=tuple(tally.non_pic),
        lto=tally.lto,
        lto_slim=tally.lto_slim,
        lto_members=tuple(tally.lto_members),
    )


def iter_members(data: memoryview, name: str) -> Iterator[ArchiveMember]:
    """The object members of an `ar` archive (GNU and BSD naming), special tables skipped."""
    magic = bytes(data[:8])
    if magic == _THIN_MAGIC:
        raise UnreadableInputError(
            "thin archive: its members are separate files, not inside it",
            path=name,
            fix="rebuild it as a normal archive (ar rcs without T), or link the objects",
        )
    if magic != _AR_MAGIC:
        raise UnreadableInputError("not an ar archive (static library)", path=name)
    long_names = b""
    offset = 8
    end = len(data)
    while offset < end:
        if end - offset < _HEADER.size:
            raise UnreadableInputError(f"truncated member header at offset {offset}", path=name)
        raw_name, _, _, _, _, raw_size, fmag = _HEADER.unpack_from(data, offset)
        if fmag != b"`\n":
            raise UnreadableInputError(f"corrupt member header at offset {offset}", path=name)
        try:
            size = int(raw_size.strip() or b"0")
        except ValueError:
            raise UnreadableInputError(f"bad member size at offset {offset}", path=name) from None
        start = offset + _HEADER.size
        if size < 0 or start + size > end:
            raise UnreadableInputError(f"member at offset {offset} runs past the end", path=name)
        member_name = raw_name.rstrip(b" ")
        if member_name == b"//":
            long_names = bytes(data[start : start + size])
        elif member_name.startswith(b"#1/"):
            # BSD: the name is stored at the start of the data.
            length = _int(member_name[3:], name, offset)
            if length > size:
                raise UnreadableInputError(f"bad BSD name at offset {offset}", path=name)
            text = bytes(data[start : start + length]).rstrip(b"\0")
            if not text.startswith(b"__.SYMDEF"):
                yield ArchiveMember(text.decode(errors="replace"), start + length, size - length)
        elif member_name not in (b"/", b"/SYM64/"):
            if member_name.startswith(b"/"):
                index = _int(member_name[1:], name, offset)
                stop = long_names.find(b"/\n", index)
                if index >= len(long_names) or stop < 0:
                    raise UnreadableInputError(f"bad long name at offset {offset}", path=name)
                member_name = long_names[index:stop]
            yield ArchiveMember(member_name.rstrip(b"/").decode(errors="replace"), start, size)
        offset = start + size + (size & 1)  # members are 2-byte aligned


def _int(text: bytes, name: str, offset: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise UnreadableInputError(f"bad member name at offset {offset}", path=name) from None


def _inspect_member(blob: memoryview, member: str, tally: _Tally, archive: str) -> None:
    head = bytes(blob[:4])
    if head in _BITCODE_MAGICS:
        _note_lto(tally, member, "clang", slim=True)
        return
    if head != _ELF_MAGIC or len(blob) < 52:
        return  # not an object file (e.g. a text file some builds leave in the archive)
    tally.elf_members += 1
    try:
        _inspect_elf(blob, member, tally)
    except (struct.error, IndexError, ValueError) as exc:
        raise UnreadableInputError(
            f"member {member} is a corrupt ELF object ({exc})",
            path=archive,
            fix="rebuild the static library",
        ) from exc


def _inspect_elf(blob: memoryview, member: str, tally: _Tally) -> None:
    is64 = blob[4] == 2
    endian = "<" if blob[5] == 1 else ">"
    if is64:
        machine, shoff, shentsize, shnum, shstrndx = _unpack(endian + "18xH20xQ10xHHH", blob, 0)
        section = struct.Struct(endian + "IIQQQQIIQQ")
    else:
        machine, shoff, shentsize, shnum, shstrndx = _unpack(endian + "18xH12xI10xHHH", blob, 0)
        section = struct.Struct(endian + "IIIIIIIIII")
    if tally.machine is None:
        tally.machine = machine
    if shoff == 0:
        return
    if shnum == 0 or shstrndx == 0xFFFF:
        # Extended numbering (over 65279 sections): the real values sit in section 0.
        first = section.unpack_from(blob, shoff)
        shnum = shnum or first[5]
        shstrndx = first[6] if shstrndx == 0xFFFF else shstrndx
    if shentsize != section.size or shoff + shnum * section.size > len(blob):
        raise ValueError("section table out of bounds")
    # (name, type, flags, offset, size, info) per section
    sections = [
        (s[0], s[1], s[2], s[4], s[5], s[7])
        for s in (section.unpack_from(blob, shoff + i * section.size) for i in range(shnum))
    ]
    names = _section_bytes(blob, sections[shstrndx]) if shstrndx < shnum else b""
    lto = any(names.startswith(b".gnu.lto_", s[0]) for s in sections)
    if lto:
        slim = any(
            b"\0__gnu_lto_slim\0" in bytes(_section_bytes(blob, s))
            for s in sections
            if s[1] == 3 and s is not sections[shstrndx]  # SHT_STRTAB
        )
        _note_lto(tally, member, "gcc", slim=slim)
    rejected = _NON_PIC_TYPES.get(machine)
    if rejected is None or not is64:
        return
    count = 0
    for _, kind, _, offset, size, info in sections:
        if kind != _SHT_RELA or info >= shnum:
            continue
        target_flags = sections[info][2]
        if not target_flags & _SHF_ALLOC:
            continue  # debug info and other sections never loaded
        count += _count_relocations(blob, offset, size, endian, rejected)
    if count:
        tally.relocations += count
        tally.non_pic_count += 1
        assert tally.non_pic is not None
        if len(tally.non_pic) < _SAMPLE:
            tally.non_pic.append(member)


def _count_relocations(
    blob: memoryview, offset: int, size: int, endian: str, types: tuple[int, ...]
) -> int:
    """How many Elf64_Rela entries in [offset, offset+size) have a type in `types`."""
    if offset + size > len(blob):
        raise ValueError("relocation section out of bounds")
    entries = array("Q")
    entries.frombytes(blob[offset : offset + size - size % 24])
    if (endian == ">") != (array("H", b"\x00\x01")[0] == 1):
        entries.byteswap()
    # r_info is the second of the three 8-byte words; its low 32 bits are the type.
    return sum(1 for info in entries[1::3] if (info & 0xFFFFFFFF) in types)


def _unpack(fmt: str, blob: memoryview, offset: int) -> tuple[int, ...]:
    values: tuple[int, ...] = struct.unpack_from(fmt, blob, offset)
    return values


def _section_bytes(blob: memoryview, section: tuple[int, int, int, int, int, int]) -> bytes:
    _, kind, _, offset, size, _ = section
    if kind == 8:  # SHT_NOBITS occupies no file space
        return b""
    if offset + size > len(blob):
        raise ValueError("section out of bounds")
    return bytes(blob[offset : offset + size])


def _note_lto(tally: _Tally, member: str, compiler: str, *, slim: bool) -> None:
    tally.lto = tally.lto or compiler
    tally.lto_slim = tally.lto_slim or slim
    assert tally.lto_members is not None
    if len(tally.lto_members) < _SAMPLE:
        tally.lto_members.append(member)


def describe(diagnosis: ArchiveDiagnosis) -> list[str]:
    """One sentence per problem found, each with what to do; empty when it links as is."""
    problems: list[str] = []
    if diagnosis.lto:
        compiler = "GCC" if diagnosis.lto == "gcc" else "clang/LLVM"
        problems.append(
            f"{diagnosis.path} contains LTO bytecode from {compiler} "
            f"(e.g. {', '.join(diagnosis.lto_members)}); only that compiler's LTO plugin can "
            "read it: use a libpython built without -flto, or link dynamically"
        )
    if diagnosis.pic is False:
        problems.append(
            f"{diagnosis.path} is not position-independent: {diagnosis.non_pic_relocations} "
            f"absolute 32-bit relocations in {diagnosis.non_pic_member_count} objects "
            f"(e.g. {', '.join(diagnosis.non_pic_members)}) cannot go into a PIE; use a PIC "
            "archive (Debian: libpython3.X-pic.a), or link a non-PIE binary: "
            "RUSTFLAGS='-C relocation-model=static' with an explicit --target <host triple> "
            "(so proc-macro crates stay PIC)"
        )
    return problems


def _machine_name(number: int) -> str:
    """How a report names the e_machine of an archive's members (64-bit name, if two)."""
    names = ELF_MACHINES.get(number)
    return names[1] if names else {21: "ppc64"}.get(number, str(number))
