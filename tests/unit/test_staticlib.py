"""Static archive diagnosis on Debian's real libpython archives, and unreadable input
(tests/integration diagnoses archives compiled there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.binary.staticlib import describe, diagnose_archive
from packager.core.errors import UnreadableInputError

DEBIAN_LIBPL = Path("/usr/lib/python3.11/config-3.11-x86_64-linux-gnu")


def _debian(name: str) -> Path:
    path = DEBIAN_LIBPL / name
    if not path.exists():
        pytest.fail(f"{path} is not installed (libpython3.11-dev)")
    return path


def test_debian_default_archive_is_not_pic() -> None:
    diagnosis = diagnose_archive(_debian("libpython3.11.a"))
    assert diagnosis.machine == "x86_64"
    assert diagnosis.members == diagnosis.elf_members > 100
    assert diagnosis.pic is False
    assert diagnosis.non_pic_relocations > 1000
    assert diagnosis.non_pic_member_count > 100
    assert len(diagnosis.non_pic_members) == 5
    assert diagnosis.lto is None
    assert not diagnosis.linkable_into_pie
    (problem,) = describe(diagnosis)
    assert "not position-independent" in problem and "libpython3.X-pic.a" in problem


def test_debian_pic_archive_is_pic() -> None:
    diagnosis = diagnose_archive(_debian("libpython3.11-pic.a"))
    assert diagnosis.pic is True
    assert diagnosis.non_pic_relocations == 0 and diagnosis.non_pic_members == ()
    assert diagnosis.linkable_into_pie
    assert describe(diagnosis) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"just some text\n", "not an ar archive"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 57, "not an ar archive"),
        (b"!<arch>\nshort", "truncated member header"),
        (b"!<arch>\n" + b"x.o/".ljust(48) + b"99999".ljust(10) + b"`\n", "runs past the end"),
        (b"!<arch>\n" + b"x.o/".ljust(48) + b"4".ljust(10) + b"XX", "corrupt member header"),
    ],
)
def test_non_archives_and_broken_archives_are_unreadable(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "lib.a"
    path.write_bytes(content)
    with pytest.raises(UnreadableInputError, match=message) as caught:
        diagnose_archive(path)
    assert caught.value.path == str(path)


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="cannot read"):
        diagnose_archive(tmp_path / "absent.a")


def test_truncated_real_archive_is_unreadable(tmp_path: Path) -> None:
    data = _debian("libpython3.11-pic.a").read_bytes()
    cut = tmp_path / "cut.a"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableInputError, match="runs past the end"):
        diagnose_archive(cut)
