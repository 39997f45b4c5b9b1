"""--glibc chooses the portable runtime a crate is built against, building one if none fits.

The choice is read from real runtime manifests in a cache directory; the build itself
(minutes) is replaced by a recorder here: tests/integration/test_portable_runtime.py
builds runtimes for real.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from packager.bundle import obtain
from packager.bundle.options import BundleRequest
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.crate.appmeta import declared_glibc
from packager.python.portable.store import MANIFEST


def _runtime(cache: Path, glibc: str) -> Path:
    prefix = cache / "packager" / "portable-runtimes" / f"cpython-3.11.2-{glibc}"
    (prefix / "bin").mkdir(parents=True)
    manifest = {"python": "3.11.2", "glibc": glibc, "arch": platform.machine(), "recipe": 2}
    (prefix / MANIFEST).write_text(json.dumps({**manifest, "key": "k"}))
    return prefix / "bin" / "python3.11"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The floors a runtime was built for, in order (the build records, nothing more)."""
    floors: list[str] = []
    monkeypatch.setattr(obtain, "_build_runtime_for", lambda glibc, ctx: floors.append(glibc))
    return floors


def _context(cache: Path, notes: list[str]) -> Context:
    return Context(environ={"XDG_CACHE_HOME": str(cache)}, note=notes.append)


def test_a_floor_no_cached_runtime_meets_builds_one(tmp_path: Path, built: list[str]) -> None:
    _runtime(tmp_path, "2.28")
    obtain.default_python(BundleRequest("crate", glibc="2.17"), _context(tmp_path, []))
    assert built == ["2.17"]


def test_a_cached_runtime_at_or_below_the_floor_is_taken(tmp_path: Path, built: list[str]) -> None:
    python = _runtime(tmp_path, "2.17")
    chosen = obtain.default_python(BundleRequest("crate", glibc="2.28"), _context(tmp_path, []))
    assert (chosen, built) == (str(python), [])


def test_a_floor_this_machine_meets_needs_no_runtime(tmp_path: Path, built: list[str]) -> None:
    notes: list[str] = []
    chosen = obtain.default_python(BundleRequest("crate", glibc="2.99"), _context(tmp_path, notes))
    assert (chosen, built, len(notes)) == (None, [], 1)


def test_without_a_floor_nothing_is_built_and_a_note_says_how(
    tmp_path: Path, built: list[str]
) -> None:
    notes: list[str] = []
    obtain.default_python(BundleRequest("crate"), _context(tmp_path, notes))
    assert built == [] and "--glibc 2.17" in notes[0]


def test_the_crate_can_declare_its_floor(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "1.0.0"\n\n'
        '[package.metadata.packager]\nglibc = "2.17"\ntargets = []\n'
    )
    assert declared_glibc(str(tmp_path)) == "2.17"


def test_a_floor_that_is_not_text_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "1.0.0"\n\n[package.metadata.packager]\nglibc = 2.17\n'
    )
    with pytest.raises(UsageError, match="glibc must be a string"):
        declared_glibc(str(tmp_path))
