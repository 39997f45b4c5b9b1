"""Reading binaries: format detection and one bounded reader per format, then inspect.

Owns: the ELF, Mach-O and PE readers and where each file's needed libraries resolve
(`*_loader`), the report model, `inspect` and `check` (findings with stable codes), the
glibc floor, static archives (`staticlib`), onefile payloads, Windows shortcuts, and a
bundle's SBOM read back and checked against its files (`sbom`). Readers
parse bytes only: nothing here ever executes the file it reads. May import: core, targets.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from packager.binary.model import BinaryFormat, NeededLibrary, ParsedBinary
from packager.core.errors import NotABinaryError, UnreadableInputError

_ELF_MAGIC = b"\x7fELF"
_MACHO_MAGICS = (
    b"\xfe\xed\xfa\xce",  # MH_MAGIC, big-endian 32-bit
    b"\xce\xfa\xed\xfe",  # MH_CIGAM
    b"\xfe\xed\xfa\xcf",  # MH_MAGIC_64
    b"\xcf\xfa\xed\xfe",  # MH_CIGAM_64
)
_FAT_MAGICS = (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")  # FAT_MAGIC, FAT_MAGIC_64
_MZ_MAGIC = b"MZ"


@dataclass(frozen=True)
class ResolveContext:
    """What the dynamic loader would look at on the host, passed in so tests pick their own."""

    environ: Mapping[str, str] = field(default_factory=dict)
    root: str = "/"  # prefix for system paths such as /etc/ld.so.conf (a sysroot in tests)


def detect_format(head: bytes) -> BinaryFormat | None:
    """Tell the binary format from the first bytes of a file, or None if it is none of ours."""
    if head.startswith(_ELF_MAGIC):
        return BinaryFormat.ELF
    if head[:4] in _MACHO_MAGICS:
        return BinaryFormat.MACHO
    if head[:4] in _FAT_MAGICS:
        # Java class files share 0xCAFEBABE; a fat header has a small slice count there.
        if len(head) >= 8 and 0 < int.from_bytes(head[4:8], "big") < 32:
            return BinaryFormat.MACHO
        return None
    if head.startswith(_MZ_MAGIC):
        return BinaryFormat.PE
    return None


def read_binary(path: str) -> tuple[BinaryFormat, list[ParsedBinary]]:
    """Parse the file at `path` into one ParsedBinary per image (several for a fat Mach-O)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(64)
            binary_format = detect_format(head)
            if binary_format is None:
                raise NotABinaryError("not an ELF, Mach-O or PE binary", path=path)
            if size < len(head) or size == 0:
                raise UnreadableInputError("file is empty or truncated", path=path)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return binary_format, _parse(binary_format, path, data)
    except OSError as exc:
        raise UnreadableInputError(f"cannot read file: {exc.strerror or exc}", path=path) from exc


def _parse(binary_format: BinaryFormat, path: str, data: mmap.mmap) -> list[ParsedBinary]:
    if binary_format is BinaryFormat.ELF:
        from packager.binary import elf

        return elf.parse(path, data)
    if binary_format is BinaryFormat.MACHO:
        from packager.binary import macho

        return macho.parse(path, data)
    from packager.binary import pe

    return pe.parse(path, data)


def resolve_needed(
    parsed: ParsedBinary, path: str, context: ResolveContext
) -> tuple[NeededLibrary, ...]:
    """Where each needed library of `parsed` resolves on the host, by its format's loader rules."""
    if parsed.format is BinaryFormat.ELF:
        from packager.binary import elf_loader

        return elf_loader.resolve(parsed, path, context)
    if parsed.format is BinaryFormat.MACHO:
        from packager.binary import macho_loader

        return macho_loader.resolve(parsed, path, context)
    from packager.binary import pe_loader

    return pe_loader.resolve(parsed, path, context)
