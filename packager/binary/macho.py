"""Mach-O reader: thin and universal (fat) files into ParsedBinary values.

macholib's own walk is not used on purpose: `MachOHeader.load` copies every section's
bytes into memory and trusts `ncmds`/`nsects` (so a hostile file costs time and memory
proportional to counts it chooses), and `SymbolTable` reopens the file by name and scans
the string table once per symbol. The load commands are plain structs, so they are read
here with `struct`, every offset and count checked against the bytes that exist.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packager.binary import pyversion
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary, PythonSymbolTable
from packager.core.errors import UnreadableInputError

if TYPE_CHECKING:
    import mmap

_FAT_MAGIC = 0xCAFEBABE
_FAT_MAGIC_64 = 0xCAFEBABF
_MAX_SLICES = 32  # real universal files hold a handful; format detection allows < 32 too

_MH_MAGIC = 0xFEEDFACE
_MH_MAGIC_64 = 0xFEEDFACF

_CPU_ARCH_ABI64 = 0x01000000
_CPU_ARCH_ABI64_32 = 0x02000000
_CPU_TYPE_X86 = 7
_CPU_TYPE_ARM = 12
_CPU_TYPE_POWERPC = 18
_CPU_SUBTYPE_MASK = 0x00FFFFFF  # the high byte carries capability bits (pointer auth)
_CPU_SUBTYPE_ARM64E = 2
_CPU_SUBTYPE_X86_64_H = 8
_ARM_SUBTYPES = {6: "armv6", 9: "armv7", 11: "armv7s", 12: "armv7k"}

_FILE_KINDS = {
    0x1: BinaryKind.OBJECT,  # MH_OBJECT
    0x2: BinaryKind.EXECUTABLE,  # MH_EXECUTE
    0x6: BinaryKind.SHARED_LIBRARY,  # MH_DYLIB
    0x8: BinaryKind.MACHO_BUNDLE,  # MH_BUNDLE
}

_LC_REQ_DYLD = 0x80000000
_LC_SEGMENT = 0x1
_LC_SYMTAB = 0x2
_LC_SEGMENT_64 = 0x19
_LC_ID_DYLIB = 0xD
_LC_RPATH = 0x1C | _LC_REQ_DYLD
# Every command that makes dyld load another image.
_LC_LOADS = frozenset(
    {
        0xC,  # LC_LOAD_DYLIB
        0x18 | _LC_REQ_DYLD,  # LC_LOAD_WEAK_DYLIB
        0x1F | _LC_REQ_DYLD,  # LC_REEXPORT_DYLIB
        0x20,  # LC_LAZY_LOAD_DYLIB
        0x23 | _LC_REQ_DYLD,  # LC_LOAD_UPWARD_DYLIB
    }
)

_N_STAB = 0xE0
_N_PEXT = 0x10
_N_TYPE = 0x0E
_N_EXT = 0x01
_N_UNDF = 0x0
_ZEROFILL_TYPES = frozenset({0x1, 0xC, 0x12})  # S_ZEROFILL, S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL
_MAX_SYMBOL_NAME = 1024  # Python API names are short; longer ones are not Py* anyway


class _Malformed(Exception):
    """Internal: the bytes contradict the Mach-O format; becomes UnreadableInputError."""


@dataclass(frozen=True)
class _Slice:
    offset: int
    size: int


@dataclass(frozen=True)
class _Section:
    name: tuple[bytes, bytes]  # (segment, section), e.g. (b"__TEXT", b"__cstring")
    address: int
    size: int  # 0 for zero-fill sections, which have no bytes in the file
    offset: int  # from the start of the image


def parse(path: str, data: bytes | mmap.mmap) -> list[ParsedBinary]:
    """Parse a thin or universal Mach-O held in `data` (an mmap or bytes) into its images."""
    try:
        return _parse(data)
    except _Malformed as exc:
        raise UnreadableInputError(f"truncated or malformed Mach-O: {exc}", path=path) from exc


def _parse(data: bytes | mmap.mmap) -> list[ParsedBinary]:
    buffer = _Buffer(data)
    magic = buffer.unpack(">I", 0)[0]
    if magic in (_FAT_MAGIC, _FAT_MAGIC_64):
        slices = _fat_slices(buffer, magic == _FAT_MAGIC_64)
        return [
            _parse_image(buffer, piece, slice_index=index) for index, piece in enumerate(slices)
        ]
    return [_parse_image(buffer, _Slice(0, len(buffer)), slice_index=None)]


class _Buffer:
    """Bounds-checked struct access to the whole file (an mmap or bytes)."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self.data = data
        self._size = len(data)

    def __len__(self) -> int:
        return self._size

    def check(self, offset: int, length: int, what: str) -> None:
        if offset < 0 or length < 0 or offset + length > self._size:
            raise _Malformed(f"{what} at offset {offset} (+{length}) lies past the end of the file")

    def unpack(self, fmt: str, offset: int, what: str = "header") -> tuple[int, ...]:
        self.check(offset, struct.calcsize(fmt), what)
        values: tuple[int, ...] = struct.unpack_from(fmt, self.data, offset)
        return values

    def read(self, offset: int, length: int, what: str) -> bytes:
        self.check(offset, length, what)
        return self.data[offset : offset + length]


def _fat_slices(buffer: _Buffer, is_64: bool) -> list[_Slice]:
    count = buffer.unpack(">I", 4)[0]
    if not 0 < count <= _MAX_SLICES:
        raise _Malformed(f"universal header lists {count} slices (expected 1..{_MAX_SLICES})")
    entry_format, entry_size = (">iiQQII", 32) if is_64 else (">iiIII", 20)
    table_end = 8 + count * entry_size
    slices = []
    for index in range(count):
        fields = buffer.unpack(entry_format, 8 + index * entry_size, "universal slice table")
        offset, size = fields[2], fields[3]
        if offset < table_end or size == 0:
            raise _Malformed(f"slice {index} has offset {offset} and size {size}")
        buffer.check(offset, size, f"slice {index}")
        slices.append(_Slice(offset, size))
    return slices


def _parse_image(buffer: _Buffer, piece: _Slice, slice_index: int | None) -> ParsedBinary:
    magic_bytes = buffer.read(piece.offset, 4, "Mach-O header")
    if magic_bytes in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf"):
        endian = ">"
    elif magic_bytes in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        endian = "<"
    else:
        where = "slice" if slice_index is not None else "file"
        raise _Malformed(f"{where} at offset {piece.offset} has no Mach-O magic")
    magic = struct.unpack(endian + "I", magic_bytes)[0]
    is_64 = magic == _MH_MAGIC_64
    header_size = 32 if is_64 else 28
    if header_size > piece.size:
        raise _Malformed("header is cut short")
    _, cputype, cpusubtype, filetype, ncmds, sizeofcmds, _ = buffer.unpack(
        endian + "IiiIIII", piece.offset
    )
    if header_size + sizeofcmds > piece.size or ncmds > sizeofcmds // 8:
        raise _Malformed(f"{ncmds} load commands in {sizeofcmds} bytes do not fit the image")
    image = _Image(buffer, piece, endian, is_64)
    for command, start, size in _load_commands(image, header_size, ncmds, sizeofcmds):
        image.read_command(command, start, size)
    image.read_symbols()
    kind = _FILE_KINDS.get(filetype, BinaryKind.OTHER)
    return ParsedBinary(
        format=BinaryFormat.MACHO,
        arch=_arch_name(cputype, cpusubtype),
        kind=kind,
        needed=tuple(image.needed),
        rpaths=tuple(image.rpaths),
        runpath=False,
        symbols=image.python_symbols(),
        embedded_python_version=image.embedded_python_version(kind),
        soname=image.soname,
        slice_index=slice_index,
        universal=slice_index is not None,
    )


def _load_commands(
    image: _Image, header_size: int, ncmds: int, sizeofcmds: int
) -> Iterator[tuple[int, int, int]]:
    """Yield (cmd, offset in the image, cmdsize); each command must advance and fit."""
    position = header_size
    end = header_size + sizeofcmds
    for index in range(ncmds):
        if position + 8 > end:
            raise _Malformed(f"load command {index} starts past the load-command area")
        command, size = image.unpack("II", position, "load command")
        # A size under 8 would not advance (a loop); past `end` would overlap the data.
        if size < 8 or position + size > end:
            raise _Malformed(f"load command {index} (0x{command:x}) has size {size}")
        yield command, position, size
        position += size


class _Image:
    """One thin Mach-O image, filled in as its load commands are read."""

    def __init__(self, buffer: _Buffer, piece: _Slice, endian: str, is_64: bool) -> None:
        self._buffer = buffer
        self._piece = piece
        self._endian = endian
        self._is_64 = is_64
        self.needed: list[str] = []
        self.rpaths: list[str] = []
        self.soname: str | None = None
        self.sections: list[_Section] = []
        self.exported: set[str] = set()
        self.local: set[str] = set()
        self.undefined: set[str] = set()
        self._symtab: tuple[int, int, int, int] | None = None
        self._version_at: tuple[int, int] | None = None  # (n_sect, address) of Py_Version

    def check(self, offset: int, length: int, what: str) -> None:
        """Refuse a range that leaves this image (and so, possibly, the file)."""
        if offset < 0 or length < 0 or offset + length > self._piece.size:
            raise _Malformed(f"{what} at image offset {offset} (+{length}) lies outside the image")

    def unpack(self, fmt: str, offset: int, what: str) -> tuple[int, ...]:
        """Unpack `fmt` (without byte order) at `offset` inside this image."""
        self.check(offset, struct.calcsize(fmt), what)
        return self._buffer.unpack(self._endian + fmt, self._piece.offset + offset, what)

    def read(self, offset: int, length: int, what: str) -> bytes:
        """Bytes at `offset` inside this image."""
        self.check(offset, length, what)
        return self._buffer.read(self._piece.offset + offset, length, what)

    def read_command(self, command: int, start: int, size: int) -> None:
        """Record what one load command contributes to the report."""
        if command in _LC_LOADS:
            self.needed.append(self._command_string(command, start, size, 24))
        elif command == _LC_RPATH:
            self.rpaths.append(self._command_string(command, start, size, 12))
        elif command == _LC_ID_DYLIB:
            if self.soname is not None:
                raise _Malformed("more than one LC_ID_DYLIB")
            self.soname = self._command_string(command, start, size, 24)
        elif command == _LC_SYMTAB:
            if self._symtab is not None or size < 24:
                raise _Malformed("duplicate or short LC_SYMTAB")
            _, _, symoff, nsyms, stroff, strsize = self.unpack("IIIIII", start, "LC_SYMTAB")
            self._symtab = (symoff, nsyms, stroff, strsize)
        elif command in (_LC_SEGMENT, _LC_SEGMENT_64):
            self._read_segment(start, size)

    def _command_string(self, command: int, start: int, size: int, fixed_size: int) -> str:
        """The lc_str of a command: an offset from the command's start, NUL-terminated."""
        if size < fixed_size:
            raise _Malformed(f"load command 0x{command:x} is shorter than its fields")
        string_offset = self.unpack("I", start + 8, "load command string offset")[0]
        if not fixed_size <= string_offset < size:
            raise _Malformed(f"load command 0x{command:x} names a string outside itself")
        raw = self.read(start + string_offset, size - string_offset, "load command string")
        return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")

    def _read_segment(self, start: int, size: int) -> None:
        """Remember each section's place; nlist n_sect numbers them across all segments."""
        fixed_size, entry_format = (
            (72, "16s16sQQIIIIIIII") if self._is_64 else (56, "16s16sIIIIIIIII")
        )
        if size < fixed_size:
            raise _Malformed("segment command is shorter than its fields")
        nsects = self.unpack("I", start + fixed_size - 8, "segment nsects")[0]
        entry_size = struct.calcsize(entry_format)
        if nsects > (size - fixed_size) // entry_size:
            raise _Malformed(f"segment claims {nsects} sections in {size} bytes")
        for index in range(nsects):
            position = start + fixed_size + index * entry_size
            self.check(position, entry_size, "section")
            fields = struct.unpack_from(
                self._endian + entry_format, self._buffer.data, self._piece.offset + position
            )
            sectname, segname, address, length, offset = fields[:5]
            flags = fields[8]
            self.sections.append(
                _Section(
                    name=(segname.split(b"\0", 1)[0], sectname.split(b"\0", 1)[0]),
                    address=address,
                    size=0 if flags & 0xFF in _ZEROFILL_TYPES else length,
                    offset=offset,
                )
            )

    def read_symbols(self) -> None:
        """Collect Py*/_Py* names from the nlist table, without Mach-O's leading '_'."""
        if self._symtab is None:
            return
        symoff, nsyms, stroff, strsize = self._symtab
        entry_format, entry_size = ("IBBHQ", 16) if self._is_64 else ("IBBHI", 12)
        table = self.read(symoff, nsyms * entry_size, "symbol table")
        # One copy of the string table, then bounded look-ups into it: a table without
        # NULs must not turn the walk quadratic.
        strings = self.read(stroff, strsize, "string table")
        for strx, n_type, n_sect, _, value in struct.iter_unpack(
            self._endian + entry_format, table
        ):
            if n_type & _N_STAB or not strings.startswith((b"_Py", b"__Py"), strx):
                continue
            end = strings.find(b"\0", strx, strx + _MAX_SYMBOL_NAME)
            if end < 0:
                continue
            name = strings[strx + 1 : end].decode("ascii", "replace")
            if n_type & _N_TYPE == _N_UNDF and value == 0:
                self.undefined.add(name)
                continue
            if n_type & _N_EXT and not n_type & _N_PEXT:
                self.exported.add(name)
            else:
                self.local.add(name)
            if name == pyversion.VERSION_SYMBOL:
                self._version_at = (n_sect, value)

    def python_symbols(self) -> PythonSymbolTable:
        """The symbols read by `read_symbols`, in the shared model."""
        defined = self.exported | self.local
        return PythonSymbolTable(
            exported=tuple(sorted(self.exported)),
            needed=tuple(sorted(self.undefined - defined)),
            local=tuple(sorted(self.local - self.exported)),
            pyinit=tuple(sorted(name for name in defined if name.startswith("PyInit_"))),
        )

    def embedded_python_version(self, kind: BinaryKind) -> str | None:
        """PY_VERSION of the interpreter this image carries itself, else None."""
        cstrings = self._span(b"__TEXT", b"__cstring")
        carries = not pyversion.INIT_SYMBOLS.isdisjoint(self.exported | self.local)
        named_none = not (self.exported or self.local or self.undefined)
        if named_none and cstrings and kind in (BinaryKind.EXECUTABLE, BinaryKind.SHARED_LIBRARY):
            # A stripped static embed names no Py* symbol: recognise the runtime by its strings.
            carries = pyversion.has_interpreter_markers(self._buffer.data, cstrings)
        if not carries:
            return None
        version = self._version_from_symbol()
        if version is None and cstrings is not None:
            version = pyversion.find_version_string(self._buffer.data, cstrings)
        return version

    def _version_from_symbol(self) -> str | None:
        """PY_VERSION_HEX from the `Py_Version` constant, through the section holding it."""
        if self._version_at is None:
            return None
        n_sect, address = self._version_at
        width = 8 if self._is_64 else 4  # `unsigned long`
        if not 0 < n_sect <= len(self.sections):
            return None
        section = self.sections[n_sect - 1]
        inside = address - section.address
        if not 0 <= inside <= section.size - width:
            return None
        raw = self.read(section.offset + inside, width, "Py_Version")
        order: Literal["little", "big"] = "little" if self._endian == "<" else "big"
        return pyversion.version_from_hex(int.from_bytes(raw, order))

    def _span(self, segment: bytes, section_name: bytes) -> tuple[int, int] | None:
        """(file offset, size) of one section, checked to lie inside the image."""
        for section in self.sections:
            if section.name == (segment, section_name) and section.size:
                self.check(section.offset, section.size, section_name.decode())
                return self._piece.offset + section.offset, section.size
        return None


def _arch_name(cputype: int, cpusubtype: int) -> str:
    """Apple's name for a CPU type (as `lipo -info` prints it)."""
    subtype = cpusubtype & _CPU_SUBTYPE_MASK
    base = cputype & ~(_CPU_ARCH_ABI64 | _CPU_ARCH_ABI64_32)
    is_64 = bool(cputype & _CPU_ARCH_ABI64)
    if base == _CPU_TYPE_X86:
        if not is_64:
            return "i386"
        return "x86_64h" if subtype == _CPU_SUBTYPE_X86_64_H else "x86_64"
    if base == _CPU_TYPE_ARM:
        if cputype & _CPU_ARCH_ABI64_32:
            return "arm64_32"
        if is_64:
            return "arm64e" if subtype == _CPU_SUBTYPE_ARM64E else "arm64"
        return _ARM_SUBTYPES.get(subtype, "arm")
    if base == _CPU_TYPE_POWERPC:
        return "ppc64" if is_64 else "ppc"
    return f"cputype-{cputype & 0xFFFFFFFF:#x}"
