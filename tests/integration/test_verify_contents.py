"""`packager verify` checks a bundle's files against the sbom.cdx.json it carries before it
runs it: samples/hello bundled once as a folder and a .tar.zst on Debian's python3.11,
then copies of it changed the ways a bundle gets changed after it is made."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, BundleManifest
from tests.helpers import cargo_env, run_packager
from tests.integration.bundle_helpers import bundle_hello_crate, output_path

pytestmark = pytest.mark.integration

HELLO_LINE = "hello, packager, from Rust"


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> BundleManifest:
    return bundle_hello_crate(
        tmp_path_factory.mktemp("contents"), BundleFormat.DIR, BundleFormat.TAR_ZST
    )


def _copy(manifest: BundleManifest, tmp_path: Path) -> Path:
    """A copy of the folder bundle, to change."""
    folder = output_path(manifest, BundleFormat.DIR)
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy, symlinks=True)
    return copy


def _verify(subject: Path, *options: str) -> subprocess.CompletedProcess[str]:
    environ = cargo_env()
    environ.pop("PYTHONUNBUFFERED", None)
    return run_packager("verify", *options, str(subject), environ=environ, timeout=600)


def _libpython(folder: Path) -> Path:
    return next((folder / "lib").glob("libpython3*.so*"))


def test_an_unchanged_bundle_is_checked_and_runs(hello: BundleManifest, tmp_path: Path) -> None:
    ran = _verify(_copy(hello, tmp_path), "--json")
    assert (ran.returncode, json.loads(ran.stdout)["verify"]["notes"]) == (0, []), ran.stderr


def test_a_changed_library_is_named_and_the_program_not_run(
    hello: BundleManifest, tmp_path: Path
) -> None:
    folder = _copy(hello, tmp_path)
    library = _libpython(folder)
    data = bytearray(library.read_bytes())
    data[len(data) // 2] ^= 0xFF
    library.write_bytes(bytes(data))
    ran = _verify(folder)
    expected = f"lib/{library.name}: its SHA-256 is not the one sbom.cdx.json lists"
    assert (ran.returncode, expected in ran.stderr, HELLO_LINE in ran.stdout) == (1, True, False)


def test_a_library_added_after_bundling_is_named(hello: BundleManifest, tmp_path: Path) -> None:
    folder = _copy(hello, tmp_path)
    shutil.copyfile(_libpython(folder), folder / "lib" / "libextra.so")
    ran = _verify(folder)
    expected = "lib/libextra.so: a program or library sbom.cdx.json does not list"
    assert (ran.returncode, expected in ran.stderr) == (1, True), ran.stderr


def test_a_removed_module_is_named(hello: BundleManifest, tmp_path: Path) -> None:
    folder = _copy(hello, tmp_path)
    module = next(folder.glob("lib/python3*/lib-dynload/_json*.so"))
    module.unlink()
    ran = _verify(folder)
    relative = module.relative_to(folder).as_posix()
    expected = f"{relative}: listed in sbom.cdx.json but missing from the bundle"
    assert (ran.returncode, expected in ran.stderr) == (1, True), ran.stderr


def test_a_changed_file_in_an_archive_is_named(hello: BundleManifest, tmp_path: Path) -> None:
    folder = _copy(hello, tmp_path)
    launcher = folder / folder.name
    launcher.write_text(launcher.read_text() + "# changed\n")
    archive = tmp_path / f"{folder.name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    ran = _verify(archive)
    expected = f"{folder.name}: its SHA-256 is not the one sbom.cdx.json lists"
    assert (ran.returncode, expected in ran.stderr) == (1, True), ran.stderr


def test_the_shipped_archive_is_checked_and_runs(hello: BundleManifest) -> None:
    ran = _verify(output_path(hello, BundleFormat.TAR_ZST), "--json")
    assert (ran.returncode, json.loads(ran.stdout)["verify"]["notes"]) == (0, []), ran.stderr


def test_a_bundle_without_an_sbom_runs_and_says_it_was_not_checked(
    hello: BundleManifest, tmp_path: Path
) -> None:
    folder = _copy(hello, tmp_path)
    (folder / "sbom.cdx.json").unlink()
    ran = _verify(folder, "--json")
    note = "sbom.cdx.json absent: the bundle's files were not checked against an SBOM"
    assert (ran.returncode, json.loads(ran.stdout)["verify"]["notes"]) == (0, [note]), ran.stderr
