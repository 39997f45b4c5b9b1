"""`packager bundle --only-needed` for a Linux folder: the stdlib cut to what the program
imports, its system libraries with it, and the rest said in a note; the folder still runs
in a sandbox where no Python is visible."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.bundle import (
    BundleFormat,
    BundleManifest,
    BundleRequest,
    ObtainOptions,
    OnefileOptions,
    bundle,
    verify_bundle,
)
from packager.core.context import Context
from tests.helpers import SAMPLES, cargo_env
from tests.integration.bundle_helpers import DEBIAN_PYTHON, EXPECTED_LINES, bundle_environ

pytestmark = pytest.mark.integration
STDLIB = Path("lib/python3.11")


def _bundle(out: Path, *include: str) -> BundleManifest:
    environ = cargo_env()
    environ.pop("PYTHONUNBUFFERED", None)
    request = BundleRequest(
        str(SAMPLES / "hello"),
        out_dir=str(out),
        formats=(BundleFormat.DIR,),
        obtain=ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON),
        onefile_options=OnefileOptions(only_needed=True, include=include),
    )
    run = bundle(request, Context(environ=environ))
    assert run.manifest is not None
    return run.manifest


@pytest.fixture(scope="module")
def needed_only(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BundleManifest]:
    out = tmp_path_factory.mktemp("only-needed")
    return out / "hello", _bundle(out)


def test_the_cut_folder_runs_where_no_python_is_visible(
    needed_only: tuple[Path, BundleManifest],
) -> None:
    tree, _ = needed_only
    result = verify_bundle(str(tree), environ=bundle_environ())
    lines = result.stdout.splitlines()
    assert (result.ok, lines[-2:]) == (True, list(EXPECTED_LINES)), result.stderr


def test_what_the_program_imports_stays_and_the_rest_goes(
    needed_only: tuple[Path, BundleManifest],
) -> None:
    tree, _ = needed_only
    kept = [(tree / STDLIB / name).exists() for name in ("json/decoder.pyc", "os.pyc")]
    gone = [(tree / STDLIB / name).exists() for name in ("email", "asyncio", "sqlite3")]
    assert (kept, gone) == ([True, True], [False, False, False])


def test_only_the_kept_modules_bring_their_system_libraries(
    needed_only: tuple[Path, BundleManifest],
) -> None:
    _, manifest = needed_only
    assert {"libssl.so.3", "libsqlite3.so.0"} & set(manifest.vendored) == set()


def test_a_note_says_how_many_modules_were_left_out(
    needed_only: tuple[Path, BundleManifest],
) -> None:
    _, manifest = needed_only
    [note] = [note for note in manifest.notes if note.startswith("--only-needed left out")]
    assert "--include MODULE keeps one" in note


def test_include_keeps_a_module_and_its_libraries(tmp_path: Path) -> None:
    manifest = _bundle(tmp_path, "sqlite3")
    tree = tmp_path / "hello"
    dynload = tree / STDLIB / "lib-dynload"
    assert (
        (tree / STDLIB / "sqlite3/__init__.pyc").exists(),
        any(dynload.glob("_sqlite3.*.so")),
        "libsqlite3.so.0" in manifest.vendored,
    ) == (True, True, True)
