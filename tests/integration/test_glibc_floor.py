"""The glibc floor of real bundles: measured, checked, enforced, and proven over older roots.

The roots are `debootstrap --variant=minbase` Debian systems packager makes once in the
cache; with them in place every test here costs seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from packager.binary.floor import highest, version_key
from packager.binary.inspect import inspect_paths
from packager.binary.model import BinaryFormat, BinaryReport
from packager.bundle import (
    BundleFormat,
    BundleManifest,
    BundleRequest,
    ContentOptions,
    bundle,
    verify_bundle,
)
from packager.core.context import Context
from packager.core.errors import FloorError, ToolError
from packager.outputs.installer_sh import write_installer
from packager.reporting import SCHEMA_VERSION
from packager.reporting.bundle import manifest_document
from packager.verify.roots import DEBIAN_RELEASES, debian_root
from tests.helpers import run_packager
from tests.integration.bundle_helpers import (
    BUNDLE_NAME,
    EXPECTED_LINES,
    bundle_environ,
    bundle_tree,
    output_path,
)
from tests.schemas import validate

RUN_FORMATS = (BundleFormat.DIR, BundleFormat.TAR_ZST, BundleFormat.INSTALLER)
_OBJDUMP_GLIBC = re.compile(r"\(GLIBC_([0-9]+(?:\.[0-9]+)+)\)")


def _root(release: str) -> str:
    return debian_root(release, Context(environ=dict(os.environ)))


@pytest.fixture(scope="session")
def bookworm_root() -> str:
    return _root("bookworm")


@pytest.fixture(scope="session")
def bullseye_root() -> str:
    return _root("bullseye")


def _below(version: str) -> str:
    """The glibc release just before `version` (2.35 -> 2.34)."""
    major, minor = version_key(version)[:2]
    return f"{major}.{minor - 1}"


def _floor(manifest: BundleManifest) -> str:
    assert manifest.glibc_floor is not None, "a Linux bundle always needs some glibc"
    return manifest.glibc_floor


def _elf_reports(tree: Path) -> list[BinaryReport]:
    result = inspect_paths([str(tree)], environ={}, jobs=1)
    assert not result.errors, result.errors
    return [report for report in result.binaries if report.format is BinaryFormat.ELF]


def test_the_bundle_states_the_floor_of_the_files_it_ships(hello_bundle: BundleManifest) -> None:
    tree = output_path(hello_bundle, BundleFormat.DIR)
    reports = _elf_reports(tree)
    assert len(reports) > 10  # the binary, libpython, lib-dynload
    assert hello_bundle.glibc_floor == highest(report.glibc_floor for report in reports)
    setter = tree / str(hello_bundle.glibc_floor_file)
    assert [r.glibc_floor for r in reports if r.path == str(setter)] == [hello_bundle.glibc_floor]
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "bundle": manifest_document(hello_bundle),
    }
    validate(document, "bundle-v1.json")
    assert document["bundle"]["glibc_floor"] == hello_bundle.glibc_floor
    assert f"libc6 (>= {hello_bundle.glibc_floor})" in hello_bundle.deb_depends


def test_the_floor_read_matches_objdump_for_every_elf_file(hello_bundle: BundleManifest) -> None:
    reports = _elf_reports(output_path(hello_bundle, BundleFormat.DIR))
    for report in reports:
        dump = subprocess.run(
            ["objdump", "-T", report.path], capture_output=True, text=True, check=True
        ).stdout
        assert report.glibc_floor == highest(_OBJDUMP_GLIBC.findall(dump)), report.path


def test_check_glibc_names_each_file_above_the_floor(hello_bundle: BundleManifest) -> None:
    tree = output_path(hello_bundle, BundleFormat.DIR)
    floor = _floor(hello_bundle)
    below = run_packager("check", "--glibc", _below(floor), str(tree))
    assert below.returncode == 1, below.stdout + below.stderr
    flagged = [line for line in below.stdout.splitlines() if "PKG111" in line]
    assert any(str(hello_bundle.glibc_floor_file) in line for line in flagged), below.stdout
    assert any(f"GLIBC_{floor}" in line for line in flagged), below.stdout
    at = run_packager("check", "--glibc", floor, str(tree))
    assert "PKG111" not in at.stdout, at.stdout


def test_bundle_below_the_floor_fails_naming_the_file_and_writes_nothing(
    hello_binary: Path, hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    floor = _floor(hello_bundle)
    with pytest.raises(FloorError) as raised:
        bundle_tree(
            str(hello_binary),
            str(tmp_path),
            environ=bundle_environ(),
            formats=RUN_FORMATS,
            glibc=_below(floor),
        )
    message = str(raised.value)
    # Symbol versions come first: with the floor one release below, every file named for
    # PKG111 needs exactly the bundle's floor.
    first = message.splitlines()[1]
    assert first.split(": ")[1].startswith("PKG111"), message
    assert f"GLIBC_{floor}" in message and "nothing was written" in message
    assert raised.value.fix is not None and f"raise the floor to {floor}" in raised.value.fix
    assert os.listdir(tmp_path) == []


def test_every_output_runs_over_a_minimal_bookworm(
    hello_bundle: BundleManifest, bookworm_root: str
) -> None:
    if version_key(_floor(hello_bundle)) > version_key(DEBIAN_RELEASES["bookworm"]):
        pytest.fail("this test needs a Debian 12 host: its runtime is newer than bookworm's glibc")
    for fmt in RUN_FORMATS:
        result = verify_bundle(
            str(output_path(hello_bundle, fmt)), environ=bundle_environ(), root=bookworm_root
        )
        assert result.ok, (fmt, result.stdout, result.stderr)
        assert result.root == bookworm_root
        for line in EXPECTED_LINES:
            assert line in result.stdout.splitlines(), (fmt, result.stdout)


def test_the_installer_refuses_a_glibc_below_its_floor(
    hello_bundle: BundleManifest, bullseye_root: str
) -> None:
    floor = _floor(hello_bundle)
    if version_key(floor) <= version_key(DEBIAN_RELEASES["bullseye"]):
        pytest.fail(f"this test needs a bundle whose floor ({floor}) is above bullseye's glibc")
    installer = output_path(hello_bundle, BundleFormat.INSTALLER)
    result = verify_bundle(str(installer), environ=bundle_environ(), root=bullseye_root)
    assert result.returncode != 0
    assert f"needs glibc >= {floor}, this system has 2.31" in result.stderr, result.stderr
    assert "Installed" not in result.stdout + result.stderr


def test_over_bullseye_an_output_above_its_glibc_is_refused_before_writing(
    hello_binary: Path, hello_bundle: BundleManifest, tmp_path: Path, bullseye_root: str
) -> None:
    # The portable-runtime tests show the other side: a 2.17 bundle runs over bullseye.
    floor = _floor(hello_bundle)
    if version_key(floor) <= version_key(DEBIAN_RELEASES["bullseye"]):
        pytest.fail(f"this test needs a bundle whose floor ({floor}) is above bullseye's glibc")
    request = BundleRequest(
        str(hello_binary),
        out_dir=str(tmp_path),
        formats=RUN_FORMATS,
        verify_on=("bullseye",),
    )
    with pytest.raises(FloorError, match=r"bullseye has glibc 2\.31"):
        bundle(request, Context(environ=bundle_environ()))
    assert os.listdir(tmp_path) == []


def test_verify_on_runs_every_output_over_each_root(
    hello_binary: Path, hello_bundle: BundleManifest, tmp_path: Path, bookworm_root: str
) -> None:
    if version_key(_floor(hello_bundle)) > version_key(DEBIAN_RELEASES["bookworm"]):
        pytest.fail("this test needs a Debian 12 host: its runtime is newer than bookworm's glibc")
    request = BundleRequest(
        str(hello_binary),
        out_dir=str(tmp_path),
        name=BUNDLE_NAME,
        formats=RUN_FORMATS,
        verify_on=("bookworm",),
    )
    run = bundle(request, Context(environ=bundle_environ()))
    assert [result.root for result in run.verified] == [bookworm_root] * len(RUN_FORMATS)
    assert run.ok, [(r.subject, r.stderr) for r in run.verified if not r.ok]


def test_verify_distro_on_the_command_line(
    hello_bundle: BundleManifest, bookworm_root: str, bullseye_root: str
) -> None:
    tarball = str(output_path(hello_bundle, BundleFormat.TAR_ZST))
    ran = run_packager("verify", "--json", "--distro", "bookworm", tarball)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f'"root": "{bookworm_root}"' in ran.stdout
    if version_key(_floor(hello_bundle)) > version_key(DEBIAN_RELEASES["bullseye"]):
        old = run_packager("verify", "--distro", "bullseye", tarball)
        assert old.returncode == 1
        assert "version `GLIBC_2.3" in old.stdout, old.stdout


_PROBE = """\
import bz2, ctypes, curses, hashlib, lzma, pyexpat, readline, sqlite3, ssl, uuid
print("probe:", ssl.OPENSSL_VERSION, "sqlite", sqlite3.sqlite_version, flush=True)
"""


def test_modules_needing_system_libraries_import_over_a_minimal_bookworm(
    hello_bundle: BundleManifest, bookworm_root: str, tmp_path: Path
) -> None:
    if version_key(_floor(hello_bundle)) > version_key(DEBIAN_RELEASES["bookworm"]):
        pytest.fail("this test needs a Debian 12 host: its runtime is newer than bookworm's glibc")
    assert {"libssl.so.3", "libsqlite3.so.0", "libreadline.so.8"} <= set(hello_bundle.vendored)
    tree = tmp_path / BUNDLE_NAME
    shutil.copytree(output_path(hello_bundle, BundleFormat.DIR), tree, symlinks=True)
    # lib-dynload is on sys.path: a sitecustomize there runs at start-up, before the app.
    (dynload,) = tree.glob("lib/python3*/lib-dynload")
    (dynload / "sitecustomize.py").write_text(_PROBE, encoding="utf-8")
    result = verify_bundle(str(tree), environ=bundle_environ(), root=bookworm_root)
    assert result.ok, result.stderr
    assert "probe: OpenSSL" in result.stdout, result.stdout + result.stderr


def _wheel_tags(tree: Path) -> list[str]:
    return [
        line.removeprefix("Tag: ")
        for wheel in tree.rglob("*.dist-info/WHEEL")
        for line in wheel.read_text(encoding="utf-8").splitlines()
        if line.startswith("Tag: ")
    ]


def test_requirements_take_wheels_for_the_floor_and_never_an_sdist(
    hello_binary: Path, hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("markupsafe\n", encoding="utf-8")
    floor = _floor(hello_bundle)
    manifest = bundle_tree(
        str(hello_binary),
        str(tmp_path / "ok"),
        environ=bundle_environ(),
        content=ContentOptions(requirements=str(requirements)),
        glibc=floor,
    )
    assert manifest.glibc_floor is not None
    assert any(entry.lower().startswith("markupsafe==") for entry in manifest.requirements)
    tags = _wheel_tags(output_path(manifest, BundleFormat.DIR))
    assert tags and all("manylinux" in tag for tag in tags), tags
    # MarkupSafe 0.23 is an sdist only: pip must not fall back to building it.
    requirements.write_text("markupsafe==0.23\n", encoding="utf-8")
    with pytest.raises(ToolError, match=rf"no wheel of markupsafe==0\.23 runs on glibc {floor} "):
        bundle_tree(
            str(hello_binary),
            str(tmp_path / "none"),
            environ=bundle_environ(),
            content=ContentOptions(requirements=str(requirements)),
            glibc=floor,
        )


def _installer(tmp_path: Path, arch: str, glibc_floor: str | None) -> Path:
    """An installer of an empty program "app" built for `arch` and `glibc_floor`."""
    payload = tmp_path / "payload.tar.gz"
    with tarfile.open(payload, "w:gz") as archive:
        top = tarfile.TarInfo("app")
        top.type = tarfile.DIRTYPE
        archive.addfile(top)
    installer = tmp_path / "app-installer.sh"
    write_installer("app", str(payload), str(installer), arch=arch, glibc_floor=glibc_floor)
    return installer


def _tools_without(hidden: set[str], into: Path) -> Path:
    """A PATH directory with every command of /usr/bin and /bin except `hidden`."""
    into.mkdir()
    for directory in ("/usr/bin", "/bin"):
        for tool in Path(directory).iterdir():
            link = into / tool.name
            if tool.name not in hidden and not link.exists():
                link.symlink_to(tool)
    return into


@pytest.mark.parametrize(
    "hidden", [set(), {"getconf"}, {"getconf", "ldd"}], ids=["getconf", "ldd", "libc.so.6"]
)
def test_the_installer_finds_the_glibc_version_each_way(hidden: set[str], tmp_path: Path) -> None:
    installer = _installer(tmp_path, os.uname().machine, "9.0")
    path = _tools_without(hidden, tmp_path / "bin")
    done = subprocess.run(
        ["/bin/sh", str(installer), "--prefix", str(tmp_path / "prefix")],
        env={"PATH": str(path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    host = os.confstr("CS_GNU_LIBC_VERSION")
    assert host is not None and host.startswith("glibc ")
    expected = f"app needs glibc >= 9.0, this system has {host.removeprefix('glibc ')};"
    assert done.returncode == 1 and expected in done.stderr, done.stderr
    assert not (tmp_path / "prefix").exists()


def test_the_installer_refuses_another_machine(tmp_path: Path) -> None:
    other = "s390x" if os.uname().machine != "s390x" else "x86_64"
    installer = _installer(tmp_path, other, None)
    done = subprocess.run(
        ["/bin/sh", str(installer), "--prefix", str(tmp_path / "prefix")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert f"app is built for {other}; this system is {os.uname().machine}" in done.stderr
