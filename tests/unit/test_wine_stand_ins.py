"""Which DLLs verify compiles for a wine prefix: those its system32 lacks, unless given."""

from __future__ import annotations

from pathlib import Path

from packager.core.templates import template_file
from packager.verify.stand_ins import STAND_INS, missing_from, note


def test_a_prefix_without_the_dll_gets_a_stand_in(tmp_path: Path) -> None:
    assert [stand_in.dll for stand_in in missing_from(str(tmp_path), set())] == [
        "bcryptprimitives.dll"
    ]


def test_a_prefix_that_has_the_dll_gets_none(tmp_path: Path) -> None:
    (tmp_path / "bcryptprimitives.dll").write_bytes(b"MZ")
    assert missing_from(str(tmp_path), set()) == []


def test_a_dll_the_user_names_replaces_the_stand_in(tmp_path: Path) -> None:
    assert missing_from(str(tmp_path), {"bcryptprimitives.dll"}) == []


def test_every_stand_in_has_its_sources_and_a_note_that_names_it() -> None:
    for stand_in in STAND_INS:
        assert all(template_file(source).is_file() for source in stand_in.sources)
        assert stand_in.dll in note(stand_in) and "never into the bundle" in note(stand_in)
