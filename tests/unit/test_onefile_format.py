"""The onefile payload format, read back from files made here (no build, no run).

tests/integration/test_onefile.py builds real onefile programs from the samples and runs them;
the hostile inputs here are the same alterations on small programs made with the real
archive writer, so every class of damage is also covered without a build.
"""

from __future__ import annotations

import dataclasses
import os
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packager.binary.onefile_markers import SLOT_MAGIC
from packager.binary.onefile_payload import (
    FORMAT_VERSION,
    SLOT_SIZE,
    PayloadDescription,
    SlotFields,
    find_end_record,
    find_slot,
    read_payload,
    read_slot,
    seal,
)
from packager.bundle.onefile.archive import render_boot, write_archive
from packager.bundle.onefile.extensions import ExtensionPlan, Placement, module_name
from packager.crate.crate_runtime import RUNTIME_FILE, runtime_source
from tests.helpers import REPO, SAMPLES
from tests.onefile_tamper import (
    flip_bit,
    member_span,
    patched_slot,
    replaced_in_member,
    slot_of,
    with_comment,
)

DEBIAN_PYTHON = "/usr/bin/python3.11"
Damage = Callable[[bytes], bytes]
DESCRIPTION = PayloadDescription("3.11.2", "hello", (".", "site-packages"), 4)
MEMBERS = {
    "_packager_boot.pyc": b"boot " * 40,
    "encodings/__init__.pyc": b"encodings " * 30,
    "json/__init__.pyc": b"json " * 50,
    "site-packages/pkg/data.txt": b"data",
}

# -- unit: the payload format, on files made here ------------------------------------


def _onefile(
    tmp_path: Path,
    *,
    deflate: bool = True,
    members: dict[str, bytes] = MEMBERS,
    description: PayloadDescription = DESCRIPTION,
) -> bytes:
    """A fake program (bytes holding an unpatched slot) with a real payload appended."""
    files = tmp_path / "members"
    paths = {}
    for index, (name, content) in enumerate(members.items()):
        path = files / str(index)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        paths[name] = str(path)
    zipped = write_archive(paths, comment=description.render(), mtime=0, deflate=deflate)
    program = bytearray(b"\x7fELF" + b"\0" * 1000 + SlotFields(0, 0, 0, 0, 0).pack() + b"\0" * 77)
    slot = find_slot(program)
    assert slot is not None
    program[slot : slot + SLOT_SIZE] = seal(zipped, len(program)).pack()
    return bytes(program) + zipped


def _read(tmp_path: Path, data: bytes) -> str | None:
    """The problem read_payload reports for a file holding `data` (which must be a payload)."""
    path = tmp_path / "program"
    path.write_bytes(data)
    payload = read_payload(str(path))
    assert payload is not None, "a damaged onefile must not read as a plain program"
    return payload.problem


@pytest.mark.parametrize("deflate", [True, False], ids=["deflated", "stored"])
def test_payload_reads_back_what_was_written(tmp_path: Path, deflate: bool) -> None:
    path = tmp_path / "program"
    path.write_bytes(_onefile(tmp_path, deflate=deflate))
    payload = read_payload(str(path))
    assert payload is not None and payload.problem is None
    assert (payload.python_version, payload.entry) == ("3.11.2", "hello")
    assert payload.search_paths == (".", "site-packages")
    assert payload.extension_modules == 4
    assert payload.executable_size + payload.archive_size == path.stat().st_size
    # The zip with data in front of it is still a zip to Python's own reader, and the
    # hash table is a stored member of it, written last.
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [*sorted(MEMBERS), "packager-hashes"]
        assert archive.testzip() is None
        assert archive.read("json/__init__.pyc") == MEMBERS["json/__init__.pyc"]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda data: data[:-1], "truncated"),
        (lambda data: data[: len(data) // 2 + 600], "truncated"),
        (lambda data: data + b"\0", "appended to"),
        (lambda data: data + data[-300:], "appended to"),
        (lambda data: data[:-60] + bytes([data[-60] ^ 1]) + data[-59:], "checksum"),
    ],
    ids=["last-byte", "half", "appended", "appended-end-record", "flipped-directory-byte"],
)
def test_damaged_payload_is_reported_not_ignored(
    tmp_path: Path, damage: Damage, problem: str
) -> None:
    reported = _read(tmp_path, damage(_onefile(tmp_path)))
    assert reported is not None and problem in reported


@pytest.mark.parametrize("deflate", [True, False], ids=["deflated", "stored"])
def test_every_byte_of_the_payload_is_checked(tmp_path: Path, deflate: bool) -> None:
    data = _onefile(tmp_path, deflate=deflate, members={"a.pyc": b"a" * 50, "b.pyc": b"b"})
    start = slot_of(data).payload_offset
    unnoticed = [
        at - start for at in range(start, len(data)) if not _read(tmp_path, flip_bit(data, at))
    ]
    assert unnoticed == []


@pytest.mark.parametrize("deflate", [True, False], ids=["deflated", "stored"])
@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_altered_member_is_named(tmp_path: Path, deflate: bool, member: str) -> None:
    data = _onefile(tmp_path, deflate=deflate)
    start, end = member_span(data, member)
    for at in (start, (start + end) // 2, end - 1):
        problem = _read(tmp_path, flip_bit(data, at, bit=3))
        assert problem == f"{member} does not match the hash written when it was built"


def test_edited_stored_member_is_refused(tmp_path: Path) -> None:
    member = "site-packages/pkg/data.txt"
    data = replaced_in_member(_onefile(tmp_path, deflate=False), member, b"data", b"DATA")
    assert _read(tmp_path, data) == f"{member} does not match the hash written when it was built"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (lambda s: {"format": 1}, "payload format 1 was written by an older packager"),
        (lambda s: {"format": 7}, "payload format 7 is not one this packager knows (2)"),
        (lambda s: {"format": 2**64 - 1}, "is not one this packager knows"),
        (lambda s: {"table_offset": s.payload_offset}, "layout record is inconsistent"),
        (lambda s: {"table_offset": 0}, "layout record is inconsistent"),
        (lambda s: {"table_offset": s.table_offset + 32}, "layout record is inconsistent"),
        (lambda s: {"table_offset": 2**64 - 1}, "layout record is inconsistent"),
        (lambda s: {"payload_offset": 2**64 - 1}, "was written as"),
        (lambda s: {"payload_size": 2**63}, "was written as"),
        (
            lambda s: {"payload_offset": s.payload_offset - 1, "payload_size": s.payload_size + 1},
            "layout record is inconsistent",
        ),
        (
            lambda s: {"payload_offset": s.payload_offset + 1, "payload_size": s.payload_size - 1},
            "layout record is inconsistent",
        ),
        (lambda s: {"checksum": s.checksum ^ 1}, "does not match the checksum"),
    ],
    ids=[
        "format-1",
        "format-7",
        "format-max",
        "table-at-payload",
        "table-at-zero",
        "table-shifted",
        "table-max",
        "payload-offset-max",
        "payload-size-huge",
        "payload-starts-early",
        "payload-starts-late",
        "checksum",
    ],
)
def test_crafted_slot_is_damage(
    tmp_path: Path, changes: Callable[[SlotFields], dict[str, int]], problem: str
) -> None:
    data = _onefile(tmp_path)
    reported = _read(tmp_path, patched_slot(data, **changes(slot_of(data))))
    assert reported is not None and problem in reported


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.tuples(*[st.integers(0, 2**64 - 1)] * 5), keep=st.sets(st.integers(0, 4)))
def test_any_slot_reads_without_raising(
    tmp_path: Path, fields: tuple[int, ...], keep: set[int]
) -> None:
    data = _onefile(tmp_path)
    real = dataclasses.astuple(slot_of(data))
    crafted = tuple(real[i] if i in keep else fields[i] for i in range(len(real)))
    names = [field.name for field in dataclasses.fields(SlotFields)]
    problem = _read(tmp_path, patched_slot(data, **dict(zip(names, crafted, strict=True))))
    assert (problem is None) == (crafted == real)


@pytest.mark.parametrize(
    ("comment", "problem"),
    [
        (b"extensions \xc2\xb2", "line 'extensions \xb2' is malformed"),
        (b"extensions \xd9\xa3", "line 'extensions \u0663' is malformed"),
        (b"extensions 1" + b"0" * 5000, "is malformed"),
        (b"extensions 1234567890", "is malformed"),
        (b"extensions -1", "is malformed"),
        (b"extensions ", "is malformed"),
        (b"path ../../etc", "is malformed"),
        (b"path /etc", "is malformed"),
        (b"path app//lib", "is malformed"),
        (b"path a\0b", "is malformed"),
        (b"python 3.11.2", "is malformed"),
        (b"interpreter /bin/sh", "is malformed"),
        (b"nospace", "is malformed"),
    ],
    ids=[
        "superscript-digit",
        "arabic-digit",
        "huge-number",
        "ten-digits",
        "negative",
        "empty-number",
        "parent-path",
        "absolute-path",
        "empty-path-part",
        "nul-in-path",
        "duplicate-key",
        "unknown-key",
        "no-value",
    ],
)
def test_altered_description_is_damage(tmp_path: Path, comment: bytes, problem: str) -> None:
    data = _onefile(tmp_path)
    description = DESCRIPTION.render().replace(b"extensions 4\n", b"")
    extensions = b"" if comment.startswith(b"extensions") else b"extensions 4\n"
    reported = _read(tmp_path, with_comment(data, description + extensions + comment + b"\n"))
    assert reported is not None and problem in reported


@pytest.mark.parametrize(
    ("comment", "problem"),
    [
        (b"packager-onefile 1\npython 3.11.2\nentry hello\npath .\n", "incomplete"),
        (DESCRIPTION.render()[:-1], "not a payload description"),
        (DESCRIPTION.render() + b"\xff\n", "not text"),
        (b"", "not a payload description"),
    ],
    ids=["missing-key", "no-final-newline", "not-utf8", "empty"],
)
def test_replaced_description_is_damage(tmp_path: Path, comment: bytes, problem: str) -> None:
    reported = _read(tmp_path, with_comment(_onefile(tmp_path), comment))
    assert reported is not None and problem in reported


def _large_onefile(tmp_path: Path) -> bytes:
    # Stored, so the archive is as large as its member: 24 MB of payload to hash.
    return _onefile(tmp_path, deflate=False, members={"big.bin": os.urandom(24 << 20)})


def _checked_within(tmp_path: Path, data: bytes) -> tuple[str | None, int]:
    """(problem, peak bytes Python allocated) of reading `data`'s payload."""
    path = tmp_path / "program"
    path.write_bytes(data)
    del data
    tracemalloc.start()
    try:
        payload = read_payload(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert payload is not None
    return payload.problem, peak


def test_crafted_layout_record_is_refused_before_anything_is_hashed(tmp_path: Path) -> None:
    data = _large_onefile(tmp_path)
    crafted = patched_slot(data, table_offset=slot_of(data).payload_offset)
    problem, peak = _checked_within(tmp_path, crafted)
    assert problem is not None and "layout record is inconsistent" in problem
    assert peak < 1 << 20, f"{peak} bytes allocated: the file was copied"


def test_checking_a_large_payload_hashes_it_in_place(tmp_path: Path) -> None:
    problem, peak = _checked_within(tmp_path, _large_onefile(tmp_path))
    assert problem is None
    assert peak < 1 << 20, f"{peak} bytes allocated: the file was copied"


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


def test_a_payload_without_its_slot_is_damage(tmp_path: Path) -> None:
    data = patched_slot(_onefile(tmp_path), format=0)
    assert _read(tmp_path, data) == (
        "the program has no payload slot, so its start-up code ignores the archive"
    )


@given(st.binary(max_size=300))
def test_end_record_search_never_raises_on_garbage(tail: bytes) -> None:
    record = find_end_record(tail, len(tail))
    assert record is None or tail[record.position : record.position + 4] == b"PK\x05\x06"


def test_end_record_search_ignores_a_fake_end_record_inside_the_comment(tmp_path: Path) -> None:
    comment = DESCRIPTION.render() + b"PK\x05\x06\n"
    data = with_comment(_onefile(tmp_path), comment)
    record = find_end_record(data, len(data))
    assert record is not None and record.comment == comment
    assert _read(tmp_path, data) == "the payload description's line 'PK\\x05\\x06' is malformed"


def test_slot_round_trips() -> None:
    fields = SlotFields(FORMAT_VERSION, 2, 3, 4, 2**64 - 1)
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
        ExtensionPlan("_json", Placement.MEMORY, "lib-dynload/_json.so", "loaded from the file"),
        ExtensionPlan("zlib", Placement.BUILTIN, "lib-dynload/zlib.so", "in the static libpython"),
    ]
    source = render_boot(template, plans)
    namespace: dict[str, object] = {}
    exec(source.split("ARCHIVE =")[0].split("# Module name")[1].split("\n", 1)[1], namespace)
    assert namespace["EXTENSIONS"] == {"_json": "lib-dynload/_json.so"}


def test_samples_carry_the_current_runtime() -> None:
    # extmods calls packager_runtime::initialize() and builds with plain cargo too, so it
    # commits the generated file; hello starts Python with plain PyO3 and has none.
    committed = (SAMPLES / "extmods" / "src" / RUNTIME_FILE).read_text(encoding="utf-8")
    assert committed == runtime_source(), "samples/extmods: run `packager build` on it"
    assert not (SAMPLES / "hello" / "src" / RUNTIME_FILE).exists()
