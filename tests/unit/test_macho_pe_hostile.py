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
from packager.errors import UnreadableInputError
from packager.model import ParsedBinary
from tests.test_macho import (
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


# ------------------------------------------------------ real files (build_fixtures.sh)

MACHO_FIXTURES = ("Python3", "ext.so", "app_arm64", "norpath/app")
PE_FIXTURES = ("python311.dll", "bundled/app.exe", "ext.pyd", "delay.exe")


@pytest.fixture(scope="module")
def fixture_bytes(macho_pe_fixtures: Path) -> dict[str, bytes]:
    names = [f"macho/{n}" for n in (*MACHO_FIXTURES, "app_universal")]
    names += [f"pe/{n}" for n in PE_FIXTURES]
    return {name: (macho_pe_fixtures / name).read_bytes() for name in names}


def _macho_boundaries(data: bytes, base: int = 0) -> list[int]:
    """Offsets of the header fields and of every load command (start, size, body)."""
    ncmds, sizeofcmds = struct.unpack_from("<II", data, base + 16)
    cuts = [base + n for n in (1, 4, 8, 12, 16, 20, 24, 28, 31, 32)]
    position = base + 32
    for _ in range(ncmds):
        size = struct.unpack_from("<I", data, position + 4)[0]
        cuts += [position, position + 4, position + 8, position + size // 2, position + size - 1]
        position += size
    assert position == base + 32 + sizeofcmds
    return cuts


@pytest.mark.integration
@pytest.mark.parametrize("name", MACHO_FIXTURES)
def test_macho_truncated_at_every_load_command_boundary(
    fixture_bytes: dict[str, bytes], name: str
) -> None:
    data = fixture_bytes[f"macho/{name}"]
    assert _parses_or_refuses(macho.parse, data) is not None
    for cut in _macho_boundaries(data):
        assert _refused(macho.parse, data[:cut]), f"{name} cut at {cut} was accepted"


@pytest.mark.integration
def test_universal_truncated_in_header_table_and_slices(fixture_bytes: dict[str, bytes]) -> None:
    data = fixture_bytes["macho/app_universal"]
    second_slice = struct.unpack_from(">I", data, 8 + 20 + 8)[0]
    cuts = [4, 8, 12, 27, 28, 47, *_macho_boundaries(data, 4096), second_slice + 40]
    for cut in cuts:
        assert _refused(macho.parse, data[:cut]), f"universal cut at {cut} was accepted"


def _pe_boundaries(data: bytes) -> list[int]:
    """Offsets inside the DOS header, PE headers, section table and each section's data."""
    nt = struct.unpack_from("<I", data, 0x3C)[0]
    sections = struct.unpack_from("<H", data, nt + 6)[0]
    optional_size = struct.unpack_from("<H", data, nt + 20)[0]
    table = nt + 24 + optional_size
    cuts = [2, 0x3C, 0x40, nt, nt + 4, nt + 10, nt + 24, nt + 24 + optional_size // 2, table]
    for index in range(sections):
        entry = table + index * 40
        raw_size, raw_offset = struct.unpack_from("<II", data, entry + 16)
        cuts += [entry + 20]
        if raw_size:
            cuts += [raw_offset + 1, raw_offset + raw_size - 1]
    return cuts


@pytest.mark.integration
@pytest.mark.parametrize("name", PE_FIXTURES)
def test_pe_truncated_at_every_header_and_section_boundary(
    fixture_bytes: dict[str, bytes], name: str
) -> None:
    data = fixture_bytes[f"pe/{name}"]
    assert _parses_or_refuses(pe.parse, data) is not None
    for cut in _pe_boundaries(data):
        assert _refused(pe.parse, data[:cut]), f"{name} cut at {cut} was accepted"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("field", "fmt", "value"),
    [
        ("e_lfanew", "<I", 0x7FFFFFF0),
        ("NumberOfSections", "<H", 0xFFFF),
        ("SizeOfOptionalHeader", "<H", 0xFFFF),
        ("NumberOfRvaAndSizes", "<I", 0xFFFFFFFF),
        ("ImportDirectory.VirtualAddress", "<I", 0x7FFFFFF0),
        ("ImportDirectory.Size", "<I", 0xFFFFFFFF),
    ],
)
def test_pe_huge_counts_and_offsets(
    fixture_bytes: dict[str, bytes], field: str, fmt: str, value: int
) -> None:
    data = bytearray(fixture_bytes["pe/bundled/app.exe"])
    nt = struct.unpack_from("<I", data, 0x3C)[0]
    optional = nt + 24  # PE32+: data directories start 112 bytes in
    offsets = {
        "e_lfanew": 0x3C,
        "NumberOfSections": nt + 6,
        "SizeOfOptionalHeader": nt + 20,
        "NumberOfRvaAndSizes": optional + 108,
        "ImportDirectory.VirtualAddress": optional + 112 + 8,
        "ImportDirectory.Size": optional + 112 + 12,
    }
    struct.pack_into(fmt, data, offsets[field], value)
    result = _parses_or_refuses(pe.parse, bytes(data))
    if field == "NumberOfRvaAndSizes":
        # pefile caps the count at 16 directories, as Windows does; nothing is lost.
        assert result is not None
        assert result[0].needed == ("python311.dll", "KERNEL32.dll", "msvcrt.dll")
    elif field == "ImportDirectory.Size":
        # The loader walks descriptors up to the null entry; the size is advisory.
        assert result is not None
        assert "python311.dll" in result[0].needed
    else:
        # Headers past the end, or imports in no section: never a report missing imports.
        assert result is None


@pytest.mark.integration
@pytest.mark.parametrize("name", ["macho/Python3", "macho/app_universal", "pe/bundled/app.exe"])
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_mutated_fixture_parses_or_is_refused(
    fixture_bytes: dict[str, bytes], name: str, data: st.DataObject
) -> None:
    original = fixture_bytes[name]
    mutated = bytearray(original)
    # Mutations cluster in the headers, where they change what the reader does.
    limit = min(len(original), 8192)
    for _ in range(data.draw(st.integers(1, 8))):
        mutated[data.draw(st.integers(4, limit - 1))] = data.draw(st.integers(0, 255))
    parser: Parser = macho.parse if name.startswith("macho") else pe.parse
    _parses_or_refuses(parser, bytes(mutated))
