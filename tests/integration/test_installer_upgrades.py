"""The .sh installer over an existing installation: by name, and one at a time.

An upgrade replaces what the installer wrote and keeps a file of the user's in the
folder; the uninstaller removes what it wrote by name and keeps the user's file (and so
the folder, saying so). Installations into one prefix run one after another: parallel
runs all succeed, leave no staging folder and keep every record.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, BundleManifest
from tests.integration.bundle_helpers import output_path
from tests.integration.test_installers import files_under, run_installer

pytestmark = pytest.mark.integration

PARALLEL = 8
ROUNDS = 3


def _installed(hello_bundle: BundleManifest, home: Path) -> Path:
    installed = run_installer(output_path(hello_bundle, BundleFormat.INSTALLER), home)
    assert installed.returncode == 0, installed.stderr
    return home / ".local" / "opt" / hello_bundle.name


def test_an_upgrade_keeps_a_file_of_the_users_in_the_folder(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = _installed(hello_bundle, home)
    (dest / "notes.txt").write_text("mine")
    (dest / "lib" / "settings.ini").write_text("mine too")
    _installed(hello_bundle, home)
    kept = ((dest / "notes.txt").read_text(), (dest / "lib" / "settings.ini").read_text())
    assert kept == ("mine", "mine too")


def test_the_uninstaller_removes_its_files_by_name_and_keeps_the_users(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = _installed(hello_bundle, home)
    (dest / "lib" / "settings.ini").write_text("mine")
    removed = subprocess.run(
        ["sh", str(dest / "uninstall")], capture_output=True, text=True, check=False
    )
    assert removed.returncode == 0, removed.stderr
    assert files_under(dest) == ["lib", "lib/settings.ini"]
    assert "holds files the installer did not write" in removed.stderr


def test_parallel_installs_into_one_prefix_run_one_after_another(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    installer = output_path(hello_bundle, BundleFormat.INSTALLER)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp_path)}
    argv = ["sh", str(installer)]
    codes = []
    for _round in range(ROUNDS):
        runs = [
            subprocess.Popen(argv, env=environ, stdout=subprocess.DEVNULL) for _ in range(PARALLEL)
        ]
        codes += [run.wait(timeout=600) for run in runs]
    opt = home / ".local" / "opt"
    record = (opt / hello_bundle.name / ".packager-installed").read_text().splitlines()
    created = [line for line in record if line.startswith("created=")]
    leftovers = [p.name for p in opt.iterdir() if p.name != hello_bundle.name]
    assert (codes, leftovers, len(created)) == ([0] * PARALLEL * ROUNDS, [], 3)


def test_a_prefix_the_program_cannot_run_from_is_refused_before_anything_is_made(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    prefix = tmp_path / "semi;colon"
    installer = output_path(hello_bundle, BundleFormat.INSTALLER)
    refused = run_installer(installer, home, "--prefix", str(prefix))
    assert (refused.returncode, prefix.exists()) == (1, False), refused.stderr
    assert "holds ':' or ';'" in refused.stderr


def test_the_uninstaller_removes_only_what_its_installer_can_have_written(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = _installed(hello_bundle, home)
    victims = [tmp_path / "victim", tmp_path / "elsewhere" / "victim"]
    for victim in victims:
        victim.parent.mkdir(exist_ok=True)
        victim.write_text("not the installer's")
    decoy = tmp_path / "decoy"
    decoy.symlink_to(dest / hello_bundle.name)
    # Lines written into the record after the install: a path anywhere, a relative one
    # climbing out of /, a second command, a data folder of its own.
    with (dest / ".packager-installed").open("a") as record:
        record.write(f"file={victims[0]}\nfile=../../../../../../../../{victims[1]}\n")
        record.write(f"command={decoy}\ndata_home={tmp_path}\n")
    removed = subprocess.run(
        ["sh", str(dest / "uninstall")], capture_output=True, text=True, check=False
    )
    assert removed.returncode == 0, removed.stderr
    left = [victim.exists() for victim in victims] + [decoy.is_symlink()]
    assert (left, (home / ".local" / "bin" / hello_bundle.name).exists()) == ([True] * 3, False)
