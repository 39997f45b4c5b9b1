"""The app's folder: PACKAGER_APP_DIR, `bundle --workdir` and `verify --cwd`.

The launcher and verify are tried on small trees whose program is a shell script that
reports where it runs; the installer on the hello bundle.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, BundleManifest, BundleRequest, ContentOptions
from packager.bundle.layouts import ELF, ONEFILE, PE
from packager.bundle.pipeline import check_request
from packager.core.errors import UsageError
from packager.outputs.launchers import posix_launcher
from packager.verify.sandbox import SANDBOX_AREA, verify_bundle
from tests.integration.bundle_helpers import output_path

REPORT = '#!/bin/sh\nprintf "%s\\n" "$(pwd)" "${PACKAGER_APP_DIR-unset}"\n'


def fake_bundle(parent: Path, name: str, *, app: bool, workdir: str | None = None) -> Path:
    """NAME/NAME (the real launcher) starting NAME/bin/NAME, a script reporting where it runs."""
    root = parent / name
    (root / "bin").mkdir(parents=True)
    (root / "bin" / name).write_text(REPORT)
    (root / "bin" / name).chmod(0o755)
    if app:
        (root / "app" / "data").mkdir(parents=True)
    launcher = posix_launcher(
        name, f"bin/{name}", set_library_path=False, export_env=True, workdir=workdir
    )
    (root / name).write_text(launcher)
    (root / name).chmod(0o755)
    return root


def launch(launcher: Path, cwd: Path, **environ: str) -> list[str]:
    done = subprocess.run(
        [str(launcher)],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **environ},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_launcher_names_the_app_folder_and_starts_in_the_workdir(tmp_path: Path) -> None:
    root = fake_bundle(tmp_path / "odd 'place' $x", "demo", app=True, workdir="app/data")
    assert launch(root / "demo", tmp_path) == [str(root / "app" / "data"), str(root / "app")]


def test_launcher_keeps_the_callers_folder_without_workdir(tmp_path: Path) -> None:
    root = fake_bundle(tmp_path, "demo", app=True)
    assert launch(root / "demo", tmp_path) == [str(tmp_path), str(root / "app")]


def test_launcher_of_a_bundle_without_app_unsets_an_inherited_app_dir(tmp_path: Path) -> None:
    root = fake_bundle(tmp_path, "demo", app=False)
    assert launch(root / "demo", tmp_path, PACKAGER_APP_DIR="/parent/app")[1] == "unset"


@pytest.mark.parametrize(
    ("request_fields", "layout", "message"),
    [
        ({"onefile": True, "workdir": "app"}, ONEFILE, "no launcher to start it in a folder"),
        ({"workdir": "app"}, PE, "the Windows launcher starts the program in the caller's"),
        ({"workdir": "app"}, ELF, "no --app-dir is shipped"),
        ({"workdir": "../up"}, ELF, "must be a folder inside the bundle"),
        ({"workdir": "/abs"}, ELF, "must be a folder inside the bundle"),
    ],
)
def test_workdir_is_refused_where_it_cannot_apply(
    request_fields: dict[str, object], layout: object, message: str
) -> None:
    request = BundleRequest("app.bin", **request_fields)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=message):
        check_request(request, layout, crate=False)  # type: ignore[arg-type]


def test_workdir_inside_the_app_folder_is_accepted(tmp_path: Path) -> None:
    app_dir = tmp_path / "src"
    app_dir.mkdir()
    request = BundleRequest(
        "app.bin",
        out_dir=str(tmp_path / "out"),
        workdir="app",
        content=ContentOptions(app_dir=str(app_dir)),
    )
    check_request(request, ELF, crate=False)


@pytest.mark.integration
def test_verify_runs_the_program_in_a_folder_of_the_bundle(tmp_path: Path) -> None:
    root = fake_bundle(tmp_path, "demo", app=True)
    result = verify_bundle(str(root), environ=os.environ, cwd="app/data")
    assert result.returncode == 0, result.stderr
    sandboxed = f"{SANDBOX_AREA}/demo"
    assert result.stdout.splitlines() == [f"{sandboxed}/app/data", f"{sandboxed}/app"]


@pytest.mark.integration
def test_verify_runs_the_program_in_a_directory_of_this_machine(tmp_path: Path) -> None:
    root = fake_bundle(tmp_path, "demo", app=False)
    data = tmp_path / "my data"
    data.mkdir()
    result = verify_bundle(str(root), environ=os.environ, cwd=str(data))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(data), "unset"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("cwd", "message"),
    [("missing", "not a folder of the bundle"), ("../up", "must name a folder inside")],
)
def test_verify_refuses_a_cwd_the_bundle_does_not_have(
    tmp_path: Path, cwd: str, message: str
) -> None:
    root = fake_bundle(tmp_path, "demo", app=True)
    with pytest.raises(UsageError, match=message):
        verify_bundle(str(root), environ=os.environ, cwd=cwd)


@pytest.mark.integration
def test_verify_starts_an_installed_program_in_its_folder(hello_bundle: BundleManifest) -> None:
    installer = str(output_path(hello_bundle, BundleFormat.INSTALLER))
    assert verify_bundle(installer, environ=os.environ, cwd="lib").returncode == 0
    missing = verify_bundle(installer, environ=os.environ, cwd="no-such-folder")
    assert missing.returncode != 0
    assert "no-such-folder" in missing.stderr
