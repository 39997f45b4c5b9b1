"""Hostile input for the Mach-O and PE readers, made from the real files of build_fixtures.sh:
every failure is an UnreadableInputError, never another exception or a hang."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packager.binary import macho, pe
from packager.binary.pe_image import PeImage
from tests.unit.test_macho_pe_hostile import Parser, _parses_or_refuses, _refused

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


@pytest.mark.parametrize("name", MACHO_FIXTURES)
def test_macho_truncated_at_every_load_command_boundary(
    fixture_bytes: dict[str, bytes], name: str
) -> None:
    data = fixture_bytes[f"macho/{name}"]
    assert _parses_or_refuses(macho.parse, data) is not None
    for cut in _macho_boundaries(data):
        assert _refused(macho.parse, data[:cut]), f"{name} cut at {cut} was accepted"


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


@pytest.mark.parametrize("name", PE_FIXTURES)
def test_pe_truncated_at_every_header_and_section_boundary(
    fixture_bytes: dict[str, bytes], name: str
) -> None:
    data = fixture_bytes[f"pe/{name}"]
    assert _parses_or_refuses(pe.parse, data) is not None
    for cut in _pe_boundaries(data):
        assert _refused(pe.parse, data[:cut]), f"{name} cut at {cut} was accepted"


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
        # The reader caps the count at 16 directories, as Windows does; nothing is lost.
        assert result is not None
        assert result[0].needed == ("python311.dll", "KERNEL32.dll", "msvcrt.dll")
    elif field == "ImportDirectory.Size":
        # The loader walks descriptors up to the null entry; the size is advisory.
        assert result is not None
        assert "python311.dll" in result[0].needed
    else:
        # Headers past the end, or imports in no section: never a report missing imports.
        assert result is None


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


def test_pe_import_tables_shared_by_many_descriptors_stay_linear(
    fixture_bytes: dict[str, bytes],
) -> None:
    """Hundreds of descriptors naming one long table would cost their product to read:
    the entries read in all may not exceed what the file has room for."""
    data = bytearray(fixture_bytes["pe/bundled/app.exe"])
    image = PeImage("app.exe", bytes(data))
    text = next(section for section in image.sections if section.name == b".text")
    descriptors, table, strings = 150, 0xC00, 0x1600  # offsets inside .text
    entries = (strings - table) // 8 - 1
    assert text.raw_size > strings + 16, "the fixture's .text is too small for the test"
    assert descriptors * entries > 2 * len(data) // 8, "the file has room for them all"
    data[text.raw_start + strings : text.raw_start + strings + 10] = b"\0\0f\0x.dll\0"
    for index in range(entries + 1):  # one long table of imports by name, then its end
        value = text.start + strings if index < entries else 0
        struct.pack_into("<Q", data, text.raw_start + table + 8 * index, value)
    for index in range(descriptors):  # each names that same table
        fields = (text.start + table, 0, 0, text.start + strings + 4, text.start + table)
        struct.pack_into("<5I", data, text.raw_start + 20 * index, *fields)
    optional = struct.unpack_from("<I", data, 0x3C)[0] + 24
    struct.pack_into("<I", data, optional + 112 + 8, text.start)  # the import directory
    started = time.process_time()
    assert _refused(pe.parse, bytes(data))
    assert time.process_time() - started < 1.0
