"""The onefile payload format, read back from files made here (no build, no run).

tests/integration/test_onefile.py builds real onefile programs from the samples and runs them.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packager.binary.onefile_markers import SLOT_MAGIC
from packager.binary.onefile_payload import (
    SLOT_SIZE,
    PayloadDescription,
    SlotFields,
    find_slot,
    fnv1a64,
    parse_tail,
    read_payload,
    read_slot,
)
from packager.bundle.onefile.archive import render_boot
from packager.bundle.onefile.extensions import ExtensionPlan, Placement, module_name
from packager.crate_runtime import RUNTIME_FILE, runtime_source
from tests.helpers import REPO, SAMPLES

DEBIAN_PYTHON = "/usr/bin/python3.11"
Damage = Callable[[bytes], bytes]

# -- unit: the payload format, on files made here ------------------------------------


def _program_with_payload(description: PayloadDescription, *, members: int = 3) -> bytes:
    """A fake program (bytes holding an unpatched slot) with a payload appended."""
    program = bytearray(b"\x7fELF" + b"\0" * 1000 + SlotFields(0, 0, 0, 0, 0).pack() + b"\0" * 77)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(members):
            archive.writestr(f"module{index}.pyc", b"x" * index)
        archive.comment = description.render()
    zipped = buffer.getvalue()
    parsed = parse_tail(zipped, len(zipped))
    assert parsed is not None
    slot = find_slot(program)
    assert slot is not None
    checksum = fnv1a64(zipped[parsed[0] :])
    fields = SlotFields(1, len(program), len(zipped), len(program) + parsed[0], checksum)
    program[slot : slot + SLOT_SIZE] = fields.pack()
    return bytes(program) + zipped


DESCRIPTION = PayloadDescription("3.11.2", "hello", (".", "site-packages"), 4)


def test_payload_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "program"
    path.write_bytes(_program_with_payload(DESCRIPTION))
    payload = read_payload(str(path))
    assert payload is not None and payload.problem is None
    assert (payload.python_version, payload.entry) == ("3.11.2", "hello")
    assert payload.search_paths == (".", "site-packages")
    assert payload.extension_modules == 4
    assert payload.executable_size + payload.archive_size == path.stat().st_size
    # The zip with data in front of it is still a zip to Python's own reader.
    assert zipfile.ZipFile(path).namelist() == ["module0.pyc", "module1.pyc", "module2.pyc"]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda data: data[:-1], "truncated"),
        (lambda data: data[: len(data) // 2 + 600], "truncated"),
        (lambda data: data + b"\0", "appended to"),
        (lambda data: data[:-60] + bytes([data[-60] ^ 1]) + data[-59:], "checksum"),
    ],
    ids=["last-byte", "half", "appended", "flipped-directory-byte"],
)
def test_damaged_payload_is_reported_not_ignored(
    tmp_path: Path, damage: Damage, problem: str
) -> None:
    path = tmp_path / "program"
    path.write_bytes(damage(_program_with_payload(DESCRIPTION)))
    payload = read_payload(str(path))
    assert payload is not None, "a damaged onefile must not read as a plain program"
    assert payload.problem is not None and problem in payload.problem


def test_plain_programs_and_other_zips_carry_no_payload(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"\x7fELF" + SlotFields(0, 0, 0, 0, 0).pack() + b"\0" * 100)
    assert read_payload(str(plain)) is None
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("a.txt", "a")
        archive.comment = b"not ours"
    assert read_payload(str(other)) is None
    assert read_payload(DEBIAN_PYTHON if os.path.exists(DEBIAN_PYTHON) else str(plain)) is None


@given(st.binary(max_size=300))
def test_parse_tail_never_raises_on_garbage(tail: bytes) -> None:
    assert parse_tail(tail, len(tail) + 1000) is None or tail.find(b"PK\x05\x06") >= 0


def test_parse_tail_ignores_a_fake_end_record_inside_the_comment() -> None:
    comment = DESCRIPTION.render() + b"PK\x05\x06"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a", "a")
        archive.comment = comment
    parsed = parse_tail(buffer.getvalue(), len(buffer.getvalue()))
    assert parsed is not None and parsed[1].entry == "hello"


def test_slot_round_trips() -> None:
    fields = SlotFields(1, 2, 3, 4, 2**64 - 1)
    data = b"junk" + fields.pack() + b"junk"
    assert find_slot(data) == 4 and read_slot(data, 4) == fields
    assert data.count(SLOT_MAGIC) == 1


def test_extension_module_names() -> None:
    suffixes = (".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so")
    assert module_name("_json.cpython-311-x86_64-linux-gnu.so", suffixes) == "_json"
    assert module_name("markupsafe/_speedups.abi3.so", suffixes) == "markupsafe._speedups"
    assert module_name("numpy.libs/libopenblas-r0.3.so", suffixes) is None


def test_boot_module_lists_only_modules_loaded_from_memory() -> None:
    template = (REPO / "templates/runtime/_packager_boot.py").read_text()
    plans = [
        ExtensionPlan("_json", Placement.MEMORY, "lib-dynload/_json.so", "loaded from memory"),
        ExtensionPlan("zlib", Placement.BUILTIN, "lib-dynload/zlib.so", "in the static libpython"),
    ]
    source = render_boot(template, plans)
    namespace: dict[str, object] = {}
    exec(source.split("ARCHIVE =")[0].split("# Module name")[1].split("\n", 1)[1], namespace)
    assert namespace["EXTENSIONS"] == {"_json": "lib-dynload/_json.so"}


def test_samples_carry_the_current_runtime() -> None:
    # The samples build with plain cargo too, so each commits the generated start-up code.
    for sample in ("hello", "extmods"):
        committed = (SAMPLES / sample / "src" / RUNTIME_FILE).read_text(encoding="utf-8")
        assert committed == runtime_source(), f"samples/{sample}: run `packager build` on it"
