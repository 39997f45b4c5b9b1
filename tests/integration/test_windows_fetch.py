"""A Windows target from `--python 3.X` alone: nothing gathered by hand, no variable set.

From an empty packager cache, `bundle --target x86_64-pc-windows-gnu --python 3.11`
fetches the embeddable CPython (checked against its known SHA-256), writes a zip and an
.msi, and `packager verify` runs each under wine, compiling what wine lacks into the
throwaway prefix.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from packager.verify.wine import SYSTEM_DLLS_VARIABLE
from tests.helpers import REPO, SAMPLES, run_packager
from tests.integration.windows_helpers import TARGET, assert_hello_output

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fetched(
    cross_environ: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """samples/hello bundled as zip and msi with an empty cache; (out dir, environ)."""
    work = tmp_path_factory.mktemp("fetch")
    environ = {**cross_environ, "XDG_CACHE_HOME": str(work / "cache")}
    assert SYSTEM_DLLS_VARIABLE not in environ
    completed = run_packager(
        "bundle", str(SAMPLES / "hello"), "--target", TARGET, "--python", "3.11",
        "--format", "zip,msi", "--out", str(work / "out"), environ=environ,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return work / "out", environ


def test_the_embeddable_python_is_fetched_into_the_cache_and_named(
    fetched: tuple[Path, dict[str, str]],
) -> None:
    _out, environ = fetched
    homes = list(Path(environ["XDG_CACHE_HOME"]).glob("packager/windows-python/3.11.9-*/cp311"))
    assert len(homes) == 1 and (homes[0] / "python311.dll").is_file()
    assert not list(homes[0].parent.parent.glob(".building-*"))


@pytest.mark.parametrize("pattern", ["hello.zip", "*.msi"])
def test_packager_verify_runs_it_under_wine_with_no_variable_set(
    fetched: tuple[Path, dict[str, str]], pattern: str
) -> None:
    out, environ = fetched
    (subject,) = out.glob(pattern)
    completed = run_packager("verify", "--json", str(subject), environ=environ)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(completed.stdout)["verify"]
    assert_hello_output(result["stdout"])
    assert any("bcryptprimitives.dll" in note for note in result["notes"])


def test_a_workspace_member_is_chosen_with_p_for_a_windows_target(
    fetched: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _out, environ = fetched
    completed = run_packager(
        "bundle", str(REPO / "tests" / "crates" / "workspace"), "-p", "ws-app",
        "--target", TARGET, "--python", "3.11", "--format", "zip", "--out", str(tmp_path),
        "--verify", "--json", environ=environ,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    (verified,) = json.loads(completed.stdout)["verified"]
    assert verified["stdout"].splitlines() == ["triple 42", "decimal 0.3"]


def test_a_members_declared_targets_are_read_when_p_chooses_it(
    fetched: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _out, environ = fetched
    workspace = tmp_path / "workspace"
    shutil.copytree(REPO / "tests" / "crates" / "workspace", workspace,
                    ignore=shutil.ignore_patterns("target"))  # fmt: skip
    manifest = workspace / "app" / "Cargo.toml"
    manifest.write_text(
        manifest.read_text() + f'\n[package.metadata.packager]\ntargets = ["{TARGET}"]\n'
    )
    completed = run_packager(
        "bundle", str(workspace), "-p", "ws-app", "--python", "3.11", "--format", "zip",
        "--out", str(tmp_path / "out"), environ=environ,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    with zipfile.ZipFile(tmp_path / "out" / "ws-app.zip") as archive:
        assert "ws-app/ws-app.exe" in archive.namelist()
