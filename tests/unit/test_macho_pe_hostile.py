"""Hostile input for the Mach-O and PE readers: every failure is an UnreadableInputError,
never another exception, a hang, or unbounded memory."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packager.binary import macho, pe, read_binary
from packager.binary.model import ParsedBinary
from packager.core.errors import UnreadableInputError
from tests.unit.test_macho import (
    LC_LOAD_DYLIB,
    N_EXT,
    N_SECT,
    dylib_command,
    fat_file,
    macho_image,
)

Parser = Callable[[str, bytes], list[ParsedBinary]]
MACHO_MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe")


def _parses_or_refuses(parser: Parser, data: bytes) -> list[ParsedBinary] | None:
    """The contract: a list of images, or UnreadableInputError (None here)."""
    try:
        return parser("hostile", data)
    except UnreadableInputError as exc:
        assert exc.path == "hostile"
        assert "malformed" in exc.message
        return None


def _refused(parser: Parser, data: bytes) -> bool:
    return _parses_or_refuses(parser, data) is None


# ------------------------------------------------------------ Mach-O, hand-assembled


def test_huge_ncmds_is_refused() -> None:
    image = bytearray(macho_image([dylib_command(LC_LOAD_DYLIB, "/usr/lib/libSystem.B.dylib")]))
    struct.pack_into("<I", image, 16, 0xFFFFFFFF)
    assert _refused(macho.parse, bytes(image))


def test_sizeofcmds_past_the_end_is_refused() -> None:
    image = bytearray(macho_image([dylib_command(LC_LOAD_DYLIB, "/usr/lib/libSystem.B.dylib")]))
    struct.pack_into("<I", image, 20, 0xFFFFFFF0)
    assert _refused(macho.parse, bytes(image))


@pytest.mark.parametrize("cmdsize", [0, 4, 7, 0xFFFFFFFF])
def test_load_command_size_that_would_loop_or_overrun_is_refused(cmdsize: int) -> None:
    image = bytearray(macho_image([dylib_command(LC_LOAD_DYLIB, "/usr/lib/libSystem.B.dylib")]))
    struct.pack_into("<I", image, 32 + 4, cmdsize)
    assert _refused(macho.parse, bytes(image))


def test_load_command_string_outside_its_command_is_refused() -> None:
    image = bytearray(macho_image([dylib_command(LC_LOAD_DYLIB, "/usr/lib/libSystem.B.dylib")]))
    struct.pack_into("<I", image, 32 + 8, 0x10000)  # dylib.name.offset
    assert _refused(macho.parse, bytes(image))


def test_huge_symbol_count_is_refused() -> None:
    image = bytearray(macho_image([], symbols=[("_Py_Main", N_SECT | N_EXT, 1)]))
    struct.pack_into("<I", image, 32 + 12, 0x7FFFFFFF)  # symtab_command.nsyms
    assert _refused(macho.parse, bytes(image))


def test_string_table_without_nuls_stays_linear() -> None:
    count = 20_000
    image = bytearray(macho_image([], symbols=[("_Py_X", N_SECT | N_EXT, 1)] * count))
    symoff, _, stroff, strsize = struct.unpack_from("<IIII", image, 32 + 8)
    for index in range(count):  # every name starts at 1, the table is one long "_Py..."
        struct.pack_into("<I", image, symoff + index * 16, 1)
    image[stroff + 1 : stroff + strsize] = b"_Py" + b"A" * (strsize - 4)
    (parsed,) = macho.parse("no-nuls", bytes(image))
    assert parsed.symbols.exported == ()  # the name never ends, so it is not taken


def test_huge_slice_count_is_refused() -> None:
    fat = bytearray(fat_file(macho_image([])))
    struct.pack_into(">I", fat, 4, 0x7FFFFFFF)
    assert _refused(macho.parse, bytes(fat))


def test_slice_past_the_end_is_refused() -> None:
    fat = bytearray(fat_file(macho_image([])))
    struct.pack_into(">I", fat, 8 + 12, 0x7FFFFFFF)  # fat_arch.size
    assert _refused(macho.parse, bytes(fat))


def test_nested_universal_slice_is_refused() -> None:
    inner = fat_file(macho_image([]))
    assert _refused(macho.parse, fat_file(macho_image([]), inner[:4096] + inner[4096:]))


@given(st.sampled_from(MACHO_MAGICS), st.binary(max_size=512))
@settings(max_examples=300, deadline=None)
def test_random_bytes_after_a_macho_magic(magic: bytes, tail: bytes) -> None:
    _parses_or_refuses(macho.parse, magic + tail)


@given(st.binary(max_size=1024))
@settings(max_examples=150, deadline=None)
def test_random_bytes_after_mz(tail: bytes) -> None:
    _parses_or_refuses(pe.parse, b"MZ" + tail)


def test_read_binary_reports_a_bare_magic_as_unreadable(tmp_path: Path) -> None:
    # One load command announced, the rest of the file zeros: its cmdsize is 0.
    header = struct.pack("<IIIIIIII", 0xFEEDFACF, 0x01000007, 3, 2, 1, 16, 0, 0)
    for name, content in (("macho", header + b"\0" * 32), ("pe", b"MZ" + b"\0" * 62)):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(UnreadableInputError, match="malformed"):
            read_binary(str(tmp_path / name))
