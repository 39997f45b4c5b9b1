"""A workspace member's packages, bundled from the workspace root.

tests/crates/wsmeta is a virtual workspace whose one program inherits its version,
authors, licence and homepage from `[workspace.package]`. Its .deb and .rpm must describe
that member (with or without -p), a cross target must work from the root with -p, and
removing the .deb from a minimal Debian root must leave the base system's folders there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.core.context import Context
from packager.verify.roots import debian_root
from tests.helpers import REPO, cargo_env, run_packager
from tests.integration.bundle_helpers import DEBIAN_PYTHON

pytestmark = pytest.mark.integration

WSMETA = REPO / "tests" / "crates" / "wsmeta"
PROGRAM = "wsmeta-cli"
DEB = f"{PROGRAM}_0.5.0_amd64.deb"
RPM = f"{PROGRAM}-0.5.0-1.x86_64.rpm"
AUTHOR = "Ada Example <ada@example.org>"
HOMEPAGE = "https://example.org/wsmeta"
LICENSE = "Apache-2.0"
SUMMARY = "Counts words with Python"
DETAIL = "The one program of a workspace; its fields come from the workspace."
OUTPUT = "words 3"


def _bundle(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    completed = run_packager(
        "bundle", str(WSMETA), *args, "--out", str(out), environ=cargo_env()
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The member's .deb and .rpm, bundled at the workspace root without -p."""
    out = tmp_path_factory.mktemp("wsmeta-packages")
    _bundle(out, "--format", "deb,rpm", "--python", DEBIAN_PYTHON)
    return out


def _run(argv: list[str]) -> str:
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"{argv}: {completed.stdout}{completed.stderr}"
    return completed.stdout


def test_without_p_the_packages_carry_the_members_version(packages: Path) -> None:
    names = ["SHA256SUMS", RPM, DEB, f"{RPM}.cdx.json", f"{DEB}.cdx.json"]  # SBOMs beside
    assert sorted(p.name for p in packages.iterdir()) == sorted(names)


def test_with_p_the_package_carries_the_members_version(tmp_path: Path) -> None:
    _bundle(tmp_path, "-p", PROGRAM, "--format", "deb", "--python", DEBIAN_PYTHON)
    assert (tmp_path / DEB).is_file()


def test_the_deb_control_describes_the_member(packages: Path) -> None:
    fields = ["Maintainer", "Homepage", "License", "Description"]
    control = _run(["dpkg-deb", "-f", str(packages / DEB), *fields])
    assert control.splitlines() == [
        f"Maintainer: {AUTHOR}",
        f"Homepage: {HOMEPAGE}",
        f"License: {LICENSE}",
        f"Description: {SUMMARY}",
        f" {DETAIL}",
        " .",
        " Runs on its own Python 3.11.2 runtime, installed in /opt.",
    ]


def test_the_rpm_header_describes_the_member(packages: Path) -> None:
    query = "%{PACKAGER}|%{URL}|%{LICENSE}|%{SUMMARY}|%{DESCRIPTION}"
    header = _run(["rpm", "-qp", "--qf", query, str(packages / RPM)])
    assert header == f"{AUTHOR}|{HOMEPAGE}|{LICENSE}|{SUMMARY}|{SUMMARY}\n{DETAIL}"


def _directories(root: Path) -> set[str]:
    found = set()
    for folder, subdirs, _files in os.walk(root):
        found.update(os.path.relpath(os.path.join(folder, name), root) for name in subdirs)
    return found


@pytest.mark.usefixtures("root_user")
def test_removing_the_deb_leaves_every_folder_the_base_system_had(
    packages: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(debian_root("bookworm", Context(environ=dict(os.environ))), root, symlinks=True)
    shutil.copy2(packages / DEB, root / "tmp" / "app.deb")
    before = _directories(root)
    bwrap = ["bwrap", "--bind", str(root), "/", "--dev", "/dev", "--proc", "/proc"]
    bwrap += ["--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin"]
    _run([*bwrap, "dpkg", "-i", "/tmp/app.deb"])
    assert _run([*bwrap, f"/usr/bin/{PROGRAM}"]).splitlines() == [OUTPUT]
    _run([*bwrap, "dpkg", "-r", PROGRAM])
    assert _directories(root) == before


@pytest.mark.usefixtures("root_user")
def test_an_aarch64_member_is_bundled_from_the_root_with_p(tmp_path: Path) -> None:
    _bundle(tmp_path, "-p", PROGRAM, "--target", "aarch64-unknown-linux-gnu", "--format", "dir")
    completed = run_packager(
        "verify", "--distro", "bullseye", "--json", str(tmp_path / PROGRAM)
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    assert json.loads(completed.stdout)["verify"]["stdout"].splitlines() == [OUTPUT]
