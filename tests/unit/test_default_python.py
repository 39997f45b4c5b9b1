"""Which Python a crate's bundle takes when --python is not given, and what it says."""

from __future__ import annotations

from pathlib import Path

from packager.bundle.obtain import default_python
from packager.bundle.options import BundleRequest, ObtainOptions
from packager.core.context import Context


def test_without_a_portable_runtime_the_note_names_the_floor_and_the_fix(tmp_path: Path) -> None:
    notes: list[str] = []
    ctx = Context(environ={"XDG_CACHE_HOME": str(tmp_path)}, note=notes.append)
    assert default_python(BundleRequest(str(tmp_path)), ctx) is None
    assert len(notes) == 1
    assert "no portable runtime is built" in notes[0] and "glibc" in notes[0]
    assert "packager runtime build --python 3.11 --glibc 2.17" in notes[0]


def test_a_given_python_is_taken_and_nothing_is_said(tmp_path: Path) -> None:
    notes: list[str] = []
    ctx = Context(environ={"XDG_CACHE_HOME": str(tmp_path)}, note=notes.append)
    request = BundleRequest(str(tmp_path), obtain=ObtainOptions(python="/usr/bin/python3.11"))
    assert (default_python(request, ctx), notes) == ("/usr/bin/python3.11", [])
