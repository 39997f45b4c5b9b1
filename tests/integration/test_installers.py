"""The self-extracting installer and the .deb: install, run, remove, nothing left behind."""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, BundleManifest
from packager.outputs.installer_sh import write_installer
from tests.integration.bundle_helpers import EXPECTED_LINES, output_path


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def run_installer(installer: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home.parent)}
    return subprocess.run(
        ["sh", str(installer), *args], env=environ, capture_output=True, text=True, check=False
    )


def test_installer_installs_runs_and_uninstalls_without_a_trace(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home dir"
    home.mkdir()
    installed = run_installer(output_path(hello_bundle, BundleFormat.INSTALLER), home)
    assert installed.returncode == 0, installed.stderr
    name = hello_bundle.name
    command = home / ".local" / "bin" / name
    assert f"Installed {name} into {home}/.local/opt/{name}" in installed.stdout
    ran = subprocess.run(
        [str(command), "x"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert tuple(ran.stdout.splitlines()[2:4]) == EXPECTED_LINES
    # Installing again replaces the first installation in place.
    assert run_installer(output_path(hello_bundle, BundleFormat.INSTALLER), home).returncode == 0
    removed = subprocess.run(
        ["sh", str(home / ".local" / "opt" / name / "uninstall")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert removed.returncode == 0, removed.stderr
    assert files_under(home) == []
    assert not list(tmp_path.glob(f"{name}-install.*"))


@pytest.mark.parametrize("option", ["--prefix", "--bin-dir"])
def test_a_control_character_in_a_directory_is_refused_and_nothing_is_installed(
    hello_bundle: BundleManifest, tmp_path: Path, option: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("the user's")
    hostile = f"{tmp_path}/p\nfile={victim}"
    installed = run_installer(
        output_path(hello_bundle, BundleFormat.INSTALLER), home, option, hostile
    )
    outcome = (installed.returncode, "holds a control character" in installed.stderr)
    assert (outcome, victim.read_text(), files_under(home)) == ((1, True), "the user's", [])


def test_relative_prefix_installs_and_uninstalls_cleanly(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    installer = output_path(hello_bundle, BundleFormat.INSTALLER)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    installed = subprocess.run(
        ["sh", str(installer), "--prefix", "rel/deep"],
        cwd=work,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    uninstaller = work / "rel" / "deep" / "opt" / hello_bundle.name / "uninstall"
    # From another directory: the recorded paths must not depend on the working directory.
    removed = subprocess.run(
        ["sh", str(uninstaller)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert removed.returncode == 0, removed.stderr
    assert list(work.iterdir()) == []


def hostile_payload(path: Path, name: str, member: tarfile.TarInfo) -> None:
    with tarfile.open(path, "w:gz") as archive:
        top = tarfile.TarInfo(name)
        top.type = tarfile.DIRTYPE
        archive.addfile(top)
        archive.addfile(member, io.BytesIO(b"evil\n") if member.isreg() else None)


def refused_install(member: tarfile.TarInfo, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run an installer whose payload holds `member`; it must fail having installed nothing."""
    payload = tmp_path / "payload.tar.gz"
    hostile_payload(payload, "evilapp", member)
    installer = tmp_path / "evilapp-installer.sh"
    write_installer(
        "evilapp", str(payload), str(installer), arch=os.uname().machine, glibc_floor=None
    )
    home = tmp_path / "home"
    home.mkdir()
    result = run_installer(installer, home)
    assert result.returncode != 0
    assert files_under(home) == []
    assert not list(tmp_path.glob("evilapp-install.*"))
    return result


def _file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 5
    return info


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    "member",
    [
        _file("evilapp/../evil"),
        _file("/tmp/evil-absolute"),
        _file("elsewhere/evil"),
        _link("evilapp/escape", "/etc/passwd", tarfile.SYMTYPE),
        _link("evilapp/up", "../../..", tarfile.SYMTYPE),
        _link("evilapp/hard", "/etc/passwd", tarfile.LNKTYPE),
    ],
    ids=["dotdot", "absolute", "outside-top", "symlink-out", "symlink-up", "hardlink"],
)
def test_installer_refuses_hostile_payloads(member: tarfile.TarInfo, tmp_path: Path) -> None:
    result = refused_install(member, tmp_path)
    assert "refusing" in result.stderr
    assert not (tmp_path / "evil").exists()
    assert not Path("/tmp/evil-absolute").exists()


def _mode(name: str, mode: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = _file(name) if kind == tarfile.REGTYPE else tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    return info


@pytest.mark.parametrize(
    "member",
    [
        _mode("evilapp/suid", 0o4755),
        _mode("evilapp/sgid", 0o2755),
        _mode("evilapp/suid-not-executable", 0o4644),
        _mode("evilapp/writable", 0o666),
        _mode("evilapp/writable-dir", 0o777, tarfile.DIRTYPE),
        _mode("evilapp/null", 0o644, tarfile.CHRTYPE),
        _mode("evilapp/disk", 0o644, tarfile.BLKTYPE),
        _mode("evilapp/fifo", 0o644, tarfile.FIFOTYPE),
    ],
    ids=lambda member: member.name.removeprefix("evilapp/"),
)
def test_installer_refuses_dangerous_modes_and_special_files(
    member: tarfile.TarInfo, tmp_path: Path
) -> None:
    result = refused_install(member, tmp_path)
    assert "refusing archive member" in result.stderr, result.stderr
    assert member.name in result.stderr


def test_installed_files_belong_to_the_installing_user_with_no_group_write(
    tmp_path: Path,
) -> None:
    # As root, tar would otherwise give the files the archive's owner (here uid 4321)
    # and its modes as they are.
    payload = tmp_path / "payload.tar.gz"
    with tarfile.open(payload, "w:gz") as archive:
        for name, kind, mode in [
            ("ownedapp", tarfile.DIRTYPE, 0o775),
            ("ownedapp/ownedapp", tarfile.REGTYPE, 0o775),
            ("ownedapp/data", tarfile.REGTYPE, 0o664),
        ]:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = kind, mode, 4321, 4321
            info.uname = info.gname = "someone"
            data = b"#!/bin/sh\n" if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data else None)
    installer = tmp_path / "ownedapp-installer.sh"
    write_installer(
        "ownedapp", str(payload), str(installer), arch=os.uname().machine, glibc_floor=None
    )
    home = tmp_path / "home"
    home.mkdir()
    result = run_installer(installer, home)
    assert result.returncode == 0, result.stderr
    installed = home / ".local" / "opt" / "ownedapp"
    for path in [installed, installed / "ownedapp", installed / "data"]:
        status = path.stat()
        assert (status.st_uid, status.st_gid) == (os.geteuid(), os.getegid()), path
        assert status.st_mode & 0o022 == 0, f"{path}: {oct(status.st_mode)}"
    assert (installed / "ownedapp").stat().st_mode & 0o777 == 0o755


def _cut_points(installer: bytes, payload_size: int) -> dict[str, int]:
    header = len(installer) - payload_size
    text = installer[:header].decode("utf-8")

    def before(marker: str) -> int:
        return len(text[: text.index(marker)].encode("utf-8"))

    return {
        "after-the-opening-brace": before("{\n") + 1,
        "after-the-second-line": before("{\n") + 2,
        "before-the-checksum": before('tail -c "$payload_size"'),
        "before-installing": before('make_dir "$prefix/opt"'),
        "before-the-closing-brace": header - len("}\n"),
        "before-the-last-newline": header - 1,
        "no-payload": header,
        "half-the-payload": header + payload_size // 2,
        "one-byte-short": len(installer) - 1,
    }


@pytest.mark.parametrize(
    "cut",
    [
        "after-the-opening-brace",
        "after-the-second-line",
        "before-the-checksum",
        "before-installing",
        "before-the-closing-brace",
        "before-the-last-newline",
        "no-payload",
        "half-the-payload",
        "one-byte-short",
    ],
)
def test_a_truncated_installer_fails_and_installs_nothing(
    hello_bundle: BundleManifest, tmp_path: Path, cut: str
) -> None:
    original = output_path(hello_bundle, BundleFormat.INSTALLER).read_bytes()
    size = re.search(rb"payload_size=(\d+)", original)
    assert size is not None
    payload_size = int(size.group(1))
    truncated = tmp_path / "cut-installer.sh"
    truncated.write_bytes(original[: _cut_points(original, payload_size)[cut]])
    home = tmp_path / "home"
    home.mkdir()
    result = run_installer(truncated, home)
    assert result.returncode != 0, result.stdout
    assert "Installed" not in result.stdout
    assert files_under(home) == []
    assert not list(tmp_path.glob(f"{hello_bundle.name}-install.*"))


def test_installer_refuses_a_damaged_payload(hello_bundle: BundleManifest, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged-installer.sh"
    data = bytearray(output_path(hello_bundle, BundleFormat.INSTALLER).read_bytes())
    data[-100] ^= 0xFF
    damaged.write_bytes(bytes(data))
    home = tmp_path / "home"
    home.mkdir()
    result = run_installer(damaged, home)
    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert files_under(home) == []


@pytest.mark.usefixtures("root_user")
def test_deb_installs_runs_and_removes_cleanly(hello_bundle: BundleManifest) -> None:
    deb = output_path(hello_bundle, BundleFormat.DEB)
    package = hello_bundle.name
    try:
        subprocess.run(["dpkg", "-i", str(deb)], check=True, capture_output=True)
        ran = subprocess.run(
            [f"/usr/bin/{package}"],
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        assert tuple(ran.stdout.splitlines()[2:4]) == EXPECTED_LINES
        status = subprocess.run(["dpkg", "-s", package], capture_output=True, text=True)
        assert "Depends: " in status.stdout and "libc6 (>= 2." in status.stdout
    finally:
        subprocess.run(["dpkg", "-r", package], capture_output=True, check=False)
    assert not Path(f"/opt/{package}").exists()
    assert not os.path.lexists(f"/usr/bin/{package}")
    listed = subprocess.run(["dpkg", "-s", package], capture_output=True, text=True)
    assert "install ok installed" not in listed.stdout
