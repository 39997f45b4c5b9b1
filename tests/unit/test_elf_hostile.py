"""Truncated, corrupted and hostile ELF input: a clean UnreadableInputError, never a hang.

Every subject is a real binary (or made from one in the test): a small ELF64 executable
and a small extension module, cut and patched the way a broken download or an attacker
would.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packager.binary import elf, read_binary
from packager.binary.model import ParsedBinary
from packager.core.errors import UnreadableInputError
from tests.pythons import INSTALL_LINKED, INSTALL_PYPY, links_its_runtime, pick, real_executable

SMALL_EXTENSION = "/usr/lib/python3.11/lib-dynload/_crypt.cpython-311-x86_64-linux-gnu.so"
BIG = "/usr/bin/python3.11"
SHDR = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr
PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr


SMALL_SIZE = 256 * 1024  # every truncation of the file is parsed: keep it small


@pytest.fixture(scope="session")
def small_python() -> str:
    """A Python executable that leaves the interpreter to a shared library, which keeps it
    tiny: an --enable-shared CPython's if there is one, else PyPy's."""
    interpreter = pick(
        "Python whose executable links its interpreter library",
        f"{INSTALL_LINKED}; or {INSTALL_PYPY}",
        links_its_runtime,
        prefer=lambda item: item.implementation == "cpython",
    )
    path = real_executable(interpreter)
    assert os.path.getsize(path) < SMALL_SIZE, f"{path} is not a small executable"
    return path


def parse(data: bytes) -> ParsedBinary:
    return elf.parse("subject", data)[0]


def outcome(data: bytes) -> ParsedBinary | None:
    """Parse, allowing only a clean refusal; any other exception fails the test."""
    try:
        return parse(data)
    except UnreadableInputError as error:
        assert error.path == "subject"
        assert error.message.startswith("truncated or malformed ELF: ")
        return None


def refused(data: bytes) -> bool:
    return outcome(data) is None


def sections(data: bytes) -> list[tuple[int, ...]]:
    shoff, shentsize, shnum = (
        struct.unpack_from("<Q", data, 40)[0],
        *struct.unpack_from("<HH", data, 58),
    )
    return [SHDR.unpack_from(data, shoff + index * shentsize) for index in range(shnum)]


def section_of_type(data: bytes, sh_type: int) -> tuple[int, tuple[int, ...]]:
    return next((i, s) for i, s in enumerate(sections(data)) if s[1] == sh_type)


def patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    patched = bytearray(data)
    struct.pack_into(fmt, patched, offset, *values)
    return bytes(patched)


def patch_section(data: bytes, index: int, field: int, value: int) -> bytes:
    shoff = struct.unpack_from("<Q", data, 40)[0]
    fields = list(sections(data)[index])
    fields[field] = value
    return patch(data, shoff + index * SHDR.size, SHDR.format, *fields)


def without_section_headers(data: bytes) -> bytes:
    """The same file as `sstrip` leaves it: only program headers to go by."""
    return patch(patch(data, 40, "<Q", 0), 60, "<HH", 0, 0)


@pytest.fixture(params=["python-executable", "extension-module"])
def small(request: pytest.FixtureRequest) -> bytes:
    """Small real ELF64 files with .dynamic, .dynsym, .gnu.version_r: a Python executable
    that links its interpreter library, and a Debian extension module."""
    if request.param == "python-executable":
        path: str = request.getfixturevalue("small_python")
    elif not os.path.exists(SMALL_EXTENSION):
        pytest.fail(f"{SMALL_EXTENSION} is not installed (Debian: libpython3.11-stdlib)")
    else:
        path = SMALL_EXTENSION
    data = Path(path).read_bytes()
    assert data[4:6] == b"\x02\x01", "the subject must be ELF64 little-endian"
    return data


# --- truncation ------------------------------------------------------------------------------


def test_empty_input_is_refused(tmp_path: Path) -> None:
    assert refused(b"")
    assert refused(b"\x7fELF")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableInputError):
        read_binary(str(empty))


def test_every_truncation_is_refused(small: bytes) -> None:
    assert not refused(small)
    # The section header table sits at the end of the file, so every cut reaches it.
    failures = [size for size in range(len(small)) if not refused(small[:size])]
    assert failures == []


def test_a_file_without_section_headers_still_reads_its_dynamic_table(small: bytes) -> None:
    whole, bare = parse(small), parse(without_section_headers(small))
    assert bare.needed == whole.needed
    assert (bare.rpaths, bare.runpath, bare.interpreter) == (
        whole.rpaths,
        whole.runpath,
        whole.interpreter,
    )


def test_truncation_inside_program_header_regions_is_refused(small: bytes) -> None:
    bare = without_section_headers(small)
    phoff, phnum = struct.unpack_from("<Q", bare, 32)[0], struct.unpack_from("<H", bare, 56)[0]
    regions = [PHDR.unpack_from(bare, phoff + i * PHDR.size) for i in range(phnum)]
    # PT_DYNAMIC (2) and PT_INTERP (3): cut inside each, and just before its last byte.
    cuts: list[int] = []
    for kind, _, offset, _, _, filesz, _, _ in regions:
        if kind in (2, 3):
            cuts += [offset + 1, offset + filesz - 1]
    cuts.append(phoff + phnum * PHDR.size - 1)
    assert cuts and all(refused(bare[:cut]) for cut in cuts)


def test_truncation_of_a_big_binary_at_each_header_boundary() -> None:
    if not os.path.exists(BIG):
        pytest.fail(f"{BIG} is not installed")
    data = Path(BIG).read_bytes()
    cuts = [63, struct.unpack_from("<Q", data, 32)[0] + 100]
    for _, sh_type, _, _, offset, size, *_ in sections(data):
        if sh_type in (2, 3, 6, 11, 0x6FFFFFFE) and size:  # tables the reader uses
            cuts += [offset + 1, offset + size - 1]
    cuts.append(len(data) - 1)  # inside the section header table
    assert all(refused(data[:cut]) for cut in cuts)


# --- hostile headers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "fmt", "value"),
    [
        (4, "<B", 3),  # no such ELF class
        (5, "<B", 0),  # no such byte order
        (32, "<Q", 2**63),  # e_phoff far past the end
        (40, "<Q", 2**40),  # e_shoff far past the end
        (54, "<H", 8),  # e_phentsize smaller than a program header
        (58, "<H", 10),  # e_shentsize smaller than a section header
        (60, "<H", 0xFFFE),  # e_shnum beyond what the file holds
        (62, "<H", 0xFFF0),  # e_shstrndx names no section
    ],
)
def test_hostile_file_header(small: bytes, offset: int, fmt: str, value: int) -> None:
    assert refused(patch(small, offset, fmt, value))


def test_extended_section_count_beyond_the_file(small: bytes) -> None:
    hostile = patch(patch_section(small, 0, 5, 2**40), 60, "<H", 0)  # e_shnum 0, sh_size huge
    assert refused(hostile)


def test_extended_string_table_index_beyond_the_table(small: bytes) -> None:
    hostile = patch(patch_section(small, 0, 6, 9999), 62, "<H", 0xFFFF)  # SHN_XINDEX, sh_link
    assert refused(hostile)


def test_symbol_table_links_out_of_range_or_to_itself(small: bytes) -> None:
    index, _ = section_of_type(small, 11)  # .dynsym
    assert refused(patch_section(small, index, 6, 5000))
    outcome(patch_section(small, index, 6, index))  # its own bytes as names: any clean result


def test_symbol_table_past_the_end(small: bytes) -> None:
    index, _ = section_of_type(small, 11)
    assert refused(patch_section(small, index, 5, 2**32))
    assert refused(patch_section(small, index, 9, 7))  # an entry size that is not Elf64_Sym


def test_huge_symbol_names_are_never_decoded(small: bytes) -> None:
    _, dynsym = section_of_type(small, 11)
    offset, size = dynsym[4], dynsym[5]
    hostile = bytearray(small)
    for entry in range(offset, offset + size, 24):
        struct.pack_into("<I", hostile, entry, 0xFFFFFFF0)
    parsed = parse(bytes(hostile))
    assert parsed.symbols.needed == parsed.symbols.exported == ()


def test_dynamic_table_without_dt_null_ends_at_its_section(small: bytes) -> None:
    _, dynamic = section_of_type(small, 6)
    offset, size = dynamic[4], dynamic[5]
    hostile = bytearray(small)
    for entry in range(offset, offset + size, 16):
        if struct.unpack_from("<Q", hostile, entry)[0] == 0:
            struct.pack_into("<QQ", hostile, entry, 21, 0)  # DT_NULL -> DT_DEBUG
    assert parse(bytes(hostile)).needed == parse(small).needed


def test_dynamic_string_offsets_past_the_table(small: bytes) -> None:
    _, dynamic = section_of_type(small, 6)
    offset = dynamic[4]
    hostile = bytearray(small)
    for entry in range(offset, offset + dynamic[5], 16):
        if struct.unpack_from("<Q", hostile, entry)[0] == 1:  # DT_NEEDED
            struct.pack_into("<Q", hostile, entry + 8, 2**40)
    assert refused(bytes(hostile))


def test_version_needs_with_huge_counts_and_tiny_steps(small: bytes) -> None:
    _, verneed = section_of_type(small, 0x6FFFFFFE)
    offset = verneed[4]
    hostile = patch(small, offset + 2, "<H", 0xFFFF)  # vn_cnt
    aux = offset + struct.unpack_from("<I", hostile, offset + 8)[0]
    hostile = patch(hostile, aux + 12, "<I", 1)  # vna_next: one byte on, again and again
    # Each of the 65535 steps is checked against the section: the walk ends in a refusal.
    assert refused(hostile)


def test_version_need_entries_past_their_section(small: bytes) -> None:
    _, verneed = section_of_type(small, 0x6FFFFFFE)
    assert refused(patch(small, verneed[4] + 8, "<I", 2**31))  # vn_aux
    aux = verneed[4] + struct.unpack_from("<I", small, verneed[4] + 8)[0]
    assert refused(patch(small, aux + 8, "<I", 2**31))  # vna_name


def test_interpreter_segment_past_the_end() -> None:
    executable = Path(BIG).read_bytes()  # an executable, so it has a PT_INTERP
    phoff = struct.unpack_from("<Q", executable, 32)[0]
    phnum = struct.unpack_from("<H", executable, 56)[0]
    entries = [phoff + index * PHDR.size for index in range(phnum)]
    (entry,) = [e for e in entries if struct.unpack_from("<I", executable, e)[0] == 3]  # PT_INTERP
    assert refused(patch(executable, entry + 8, "<Q", len(executable) + 10))


def test_dynamic_string_table_outside_every_segment(small: bytes) -> None:
    bare = without_section_headers(small)
    _, dynamic = section_of_type(small, 6)
    hostile = bytearray(bare)
    for entry in range(dynamic[4], dynamic[4] + dynamic[5], 16):
        if struct.unpack_from("<Q", hostile, entry)[0] == 5:  # DT_STRTAB
            struct.pack_into("<Q", hostile, entry + 8, 2**60)
    assert refused(bytes(hostile))


# --- random input ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    ident=st.sampled_from([b"\x01\x01", b"\x01\x02", b"\x02\x01", b"\x02\x02"]),
    body=st.binary(max_size=4096),
)
def test_random_bytes_behind_an_elf_magic(ident: bytes, body: bytes) -> None:
    outcome(b"\x7fELF" + ident + body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_real_binary_parses_or_is_refused(small_python: str, data: st.DataObject) -> None:
    original = Path(small_python).read_bytes()
    mutated = bytearray(original)
    # Most of the structure is in the first few KiB and in the section headers at the end.
    hot = st.one_of(st.integers(0, min(4095, len(original) - 1)), st.integers(0, len(original) - 1))
    for position in data.draw(st.lists(hot, min_size=1, max_size=16)):
        mutated[position] = data.draw(st.integers(0, 255))
    outcome(bytes(mutated))  # fails on anything but a parse or a clean refusal
