"""Menu entries and the .rpm, with the real tools: dpkg, rpm, desktop-file-validate.

The hello sample is bundled once as a GUI app with an icon, as .deb, installer and .rpm.
The .deb is installed with dpkg into a copy of a minimal Debian root, the .rpm with rpm
into such a copy whose RPM database lists what its libraries provide, the installer into
a temporary home; each is removed again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, BundleManifest
from packager.bundle.pipeline import BundleRun
from packager.core.context import Context
from packager.crate.appmeta import MetadataOptions
from packager.reporting.bundle import to_document
from packager.verify.roots import debian_root
from tests.helpers import REPO, parse_desktop_exec, png
from tests.integration.bundle_helpers import (
    BUNDLE_NAME,
    EXPECTED_LINES,
    bundle_environ,
    bundle_tree,
    output_path,
)
from tests.rpm_system import register_root, rpm_install
from tests.schemas import validate

FORMATS = (BundleFormat.INSTALLER, BundleFormat.DEB, BundleFormat.RPM)
VERSION = "1.2.0-3"
ICON_SIZE = 48
ENTRY = f"usr/share/applications/{BUNDLE_NAME}.desktop"
ICON = f"usr/share/icons/hicolor/{ICON_SIZE}x{ICON_SIZE}/apps/{BUNDLE_NAME}.png"
# A display name and summary the entry must escape: a backslash, quotes, '%', ';'.
DISPLAY_NAME = 'Hello "Desktop" 100% \\o/'
DESCRIPTION = "Greets you; from Rust and Python\n%files is not a section"

needs_root = pytest.mark.usefixtures("root_user")


def metadata(icon: Path) -> MetadataOptions:
    return MetadataOptions(
        display_name=DISPLAY_NAME,
        publisher="Example Ltd",
        description=DESCRIPTION,
        icon=str(icon),
        license="MIT",
        homepage="https://example.org/hello",
        gui=True,
    )


@pytest.fixture(scope="module")
def icon_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return png(tmp_path_factory.mktemp("icon") / "hello.png", ICON_SIZE)


@pytest.fixture(scope="module")
def gui_bundle(
    hello_binary: Path, icon_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> BundleManifest:
    out = tmp_path_factory.mktemp("gui-out")
    return bundle_tree(
        str(hello_binary),
        str(out),
        environ=bundle_environ(),
        formats=FORMATS,
        version=VERSION,
        metadata=metadata(icon_file),
    )


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `argv`, which must succeed."""
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result


def in_root(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run `argv` inside `root` (its own userland, not the host's), which must succeed."""
    bwrap = ["bwrap", "--bind", str(root), "/", "--dev", "/dev", "--proc", "/proc"]
    return run([*bwrap, "--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin", *argv])


def entry_keys(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:])


def check_entry(path: Path, exec_line: str | None = None) -> dict[str, str]:
    """Validate the entry at `path` with desktop-file-validate and check its keys."""
    validated = run(["desktop-file-validate", str(path)])
    assert validated.stdout == "", validated.stdout  # not even a hint
    keys = entry_keys(path)
    assert keys["Name"] == DISPLAY_NAME.replace("\\", "\\\\")
    assert keys["Comment"] == "Greets you; from Rust and Python"
    assert keys["Icon"] == BUNDLE_NAME
    assert keys["Terminal"] == "false"
    assert keys["Categories"] == "Utility;"
    if exec_line is not None:
        assert keys["Exec"] == exec_line
    return keys


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


# --- .deb -------------------------------------------------------------------------------


def test_deb_lists_and_carries_a_valid_entry(
    gui_bundle: BundleManifest, icon_file: Path, tmp_path: Path
) -> None:
    deb = output_path(gui_bundle, BundleFormat.DEB)
    listing = run(["dpkg-deb", "-c", str(deb)]).stdout
    assert f"./{ENTRY}\n" in listing and f"./{ICON}\n" in listing
    run(["dpkg-deb", "-x", str(deb), str(tmp_path)])
    check_entry(tmp_path / ENTRY, exec_line=f"/usr/bin/{BUNDLE_NAME}")
    assert (tmp_path / ICON).read_bytes() == icon_file.read_bytes()


@needs_root
def test_deb_installs_and_removes_the_entry_in_a_debian_root(
    gui_bundle: BundleManifest, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(debian_root("bookworm", Context(environ=dict(os.environ))), root, symlinks=True)
    shutil.copy2(output_path(gui_bundle, BundleFormat.DEB), root / "tmp" / "hello.deb")

    # dpkg checks Depends (libc6 at the floor, libgcc-s1, zlib1g) against the root's own.
    in_root(root, "dpkg", "-i", "/tmp/hello.deb")
    assert (root / ENTRY).is_file() and (root / ICON).is_file()
    ran = in_root(root, f"/usr/bin/{BUNDLE_NAME}", "x")
    assert tuple(ran.stdout.splitlines()[2:4]) == EXPECTED_LINES
    in_root(root, "dpkg", "-r", BUNDLE_NAME)
    assert not (root / ENTRY).exists() and not (root / ICON).exists()
    assert not (root / "opt" / BUNDLE_NAME).exists()
    assert not (root / "usr" / "bin" / BUNDLE_NAME).exists()


# --- the self-extracting installer --------------------------------------------------------


def test_installer_adds_a_runnable_entry_and_removes_only_it(
    gui_bundle: BundleManifest, icon_file: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    data = tmp_path / "data $HOME dir"  # XDG_DATA_HOME, not the default under HOME
    # A prefix whose path needs the Exec quoting rules: spaces, quotes, $, ` and \.
    prefix = tmp_path / 'pre fix "q" $x `id` \\b'
    apps = data / "applications"
    hicolor = data / "icons" / "hicolor"
    (hicolor / "48x48" / "apps").mkdir(parents=True)
    apps.mkdir()
    home.mkdir()
    # The user's own entries, icons and caches: refreshed, never removed.
    (apps / "other.desktop").write_text("[Desktop Entry]\nType=Application\nName=O\nExec=o\n")
    (apps / "mimeinfo.cache").write_text("[MIME Cache]\n")
    (hicolor / "48x48" / "apps" / "other.png").write_bytes(icon_file.read_bytes())
    (hicolor / "icon-theme.cache").write_bytes(b"")
    before = files_under(tmp_path)
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_DATA_HOME": str(data),
        "TMPDIR": str(tmp_path),
    }
    installer = output_path(gui_bundle, BundleFormat.INSTALLER)
    installed = run(["sh", str(installer), "--prefix", str(prefix)], env=environ)
    entry = apps / f"{BUNDLE_NAME}.desktop"
    assert f"menu:      {entry}" in installed.stdout
    keys = check_entry(entry)
    icon = hicolor / "48x48" / "apps" / f"{BUNDLE_NAME}.png"
    assert icon.read_bytes() == icon_file.read_bytes()
    argv = parse_desktop_exec(keys["Exec"])
    assert argv == [str(prefix / "opt" / BUNDLE_NAME / BUNDLE_NAME)]
    ran = run([*argv, "x"], env={"PATH": "/usr/bin:/bin"})
    assert tuple(ran.stdout.splitlines()[2:4]) == EXPECTED_LINES
    assert not (home / ".local").exists()  # XDG_DATA_HOME was used, not HOME's default

    removed = run(["sh", str(prefix / "opt" / BUNDLE_NAME / "uninstall")])
    assert f"Removed {entry}" in removed.stdout and f"Removed {icon}" in removed.stdout
    assert files_under(tmp_path) == before
    assert (apps / "mimeinfo.cache").read_text().startswith("[MIME Cache]")


def test_installer_defaults_to_the_home_data_dir_and_refuses_a_foreign_entry(
    gui_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    apps = home / ".local" / "share" / "applications"
    apps.mkdir(parents=True)
    foreign = apps / f"{BUNDLE_NAME}.desktop"
    foreign.write_text("[Desktop Entry]\nType=Application\nName=Mine\nExec=mine\n")
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp_path)}
    installer = str(output_path(gui_bundle, BundleFormat.INSTALLER))
    refused = subprocess.run(
        ["sh", installer], env=environ, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert f"'{foreign}' exists and was not installed by this installer" in refused.stderr
    assert not (home / ".local" / "opt").exists()
    foreign.unlink()
    run(["sh", installer], env=environ)
    # Installing again replaces its own entry.
    run(["sh", installer], env=environ)
    keys = check_entry(foreign)
    assert parse_desktop_exec(keys["Exec"]) == [
        str(home / ".local" / "opt" / BUNDLE_NAME / BUNDLE_NAME)
    ]
    run(["sh", str(home / ".local" / "opt" / BUNDLE_NAME / "uninstall")])
    assert files_under(home) == {".local", ".local/share", ".local/share/applications"}


def test_a_prefix_with_a_percent_sign_is_refused_before_anything_is_installed(
    gui_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp_path)}
    installer = str(output_path(gui_bundle, BundleFormat.INSTALLER))
    refused = subprocess.run(
        ["sh", installer, "--prefix", str(tmp_path / "100%")],
        env=environ, capture_output=True, text=True, check=False,
    )  # fmt: skip
    outcome = (refused.returncode, "which desktop menus (GLib) cannot start" in refused.stderr)
    assert (outcome, files_under(home), (tmp_path / "100%").exists()) == ((1, True), set(), False)


# --- .rpm -------------------------------------------------------------------------------


def rpm_query(rpm: Path, *args: str) -> str:
    return run(["rpm", "-qp", *args, str(rpm)]).stdout


def test_rpm_names_lists_and_describes_the_package(gui_bundle: BundleManifest) -> None:
    rpm = output_path(gui_bundle, BundleFormat.RPM)
    assert rpm.name == f"{BUNDLE_NAME}-1.2.0-3.x86_64.rpm"
    listed = set(rpm_query(rpm, "-l").splitlines())
    assert {f"/{ENTRY}", f"/{ICON}", f"/usr/bin/{BUNDLE_NAME}"} <= listed
    assert f"/opt/{BUNDLE_NAME}/{BUNDLE_NAME}" in listed
    outside = {path for path in listed if not path.startswith(f"/opt/{BUNDLE_NAME}")}
    assert outside == {f"/{ENTRY}", f"/{ICON}", f"/usr/bin/{BUNDLE_NAME}"}
    described = rpm_query(
        rpm, "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{SUMMARY}|%{LICENSE}|%{URL}|%{VENDOR}"
    )
    assert described == (
        f"{BUNDLE_NAME}|1.2.0|3|Greets you; from Rust and Python|MIT|"
        "https://example.org/hello|Example Ltd"
    )
    # rpm reads a line "%%files" as the section: the line keeps a leading space instead.
    assert rpm_query(rpm, "--qf", "%{DESCRIPTION}") == (
        "Greets you; from Rust and Python\n %files is not a section"
    )


def test_rpm_requires_the_floor_and_no_shipped_library(gui_bundle: BundleManifest) -> None:
    rpm = output_path(gui_bundle, BundleFormat.RPM)
    requires = [
        line.strip()
        for line in rpm_query(rpm, "--requires").splitlines()
        if not line.startswith("rpmlib(")
    ]
    assert gui_bundle.glibc_floor is not None
    assert f"libc.so.6(GLIBC_{gui_bundle.glibc_floor})(64bit)" in requires
    assert "/bin/sh" in requires
    # Every other one names a library of the system, never one the bundle ships.
    shipped = set(gui_bundle.vendored) | {"libpython3.11.so.1.0"}
    sonames = [r.removesuffix("()(64bit)") for r in requires if r.endswith("()(64bit)")]
    assert sonames and not shipped & set(sonames)
    # The .deb's Depends come from the same computation: libc6 at the same floor.
    assert f"libc6 (>= {gui_bundle.glibc_floor})" in gui_bundle.deb_depends


def rpm_root(release: str, tmp_path: Path) -> Path:
    """A copy of Debian `release`'s minimal root whose RPM database holds what its
    libraries and shell provide (tests/rpm_system.py)."""
    root = tmp_path / "root"
    shutil.copytree(debian_root(release, Context(environ=dict(os.environ))), root, symlinks=True)
    register_root(root, tmp_path / "rpm-work")
    return root


@needs_root
def test_rpm_installs_with_its_requires_met_by_a_debian_root_and_erases(
    gui_bundle: BundleManifest, tmp_path: Path
) -> None:
    rpm = output_path(gui_bundle, BundleFormat.RPM)
    root = rpm_root("bookworm", tmp_path)
    # No --nodeps: rpm checks libc at the floor, the system libraries and /bin/sh.
    installed = rpm_install(root, rpm)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (root / ENTRY).is_file() and (root / ICON).is_file()
    command = root / "usr" / "bin" / BUNDLE_NAME
    assert os.readlink(command) == f"/opt/{BUNDLE_NAME}/{BUNDLE_NAME}"
    ran = in_root(root, f"/usr/bin/{BUNDLE_NAME}", "x")
    assert tuple(ran.stdout.splitlines()[2:4]) == EXPECTED_LINES
    check_entry(root / ENTRY, exec_line=f"/usr/bin/{BUNDLE_NAME}")
    run(["rpm", "--root", str(root), "-e", BUNDLE_NAME])
    assert not (root / ENTRY).exists() and not (root / ICON).exists()
    assert not (root / "opt" / BUNDLE_NAME).exists() and not command.is_symlink()


@needs_root
def test_rpm_refuses_a_system_whose_c_library_is_below_the_floor(
    gui_bundle: BundleManifest, tmp_path: Path
) -> None:
    floor = gui_bundle.glibc_floor
    # Debian 11's C library is 2.31; the bundle of Debian 12's Python needs more.
    assert floor is not None and tuple(map(int, floor.split("."))) > (2, 31), floor
    root = rpm_root("bullseye", tmp_path)
    refused = rpm_install(root, output_path(gui_bundle, BundleFormat.RPM))
    assert refused.returncode != 0
    assert f"libc.so.6(GLIBC_{floor})(64bit) is needed by" in refused.stderr
    assert not (root / "opt" / BUNDLE_NAME).exists()


def test_rpm_is_reproducible(
    gui_bundle: BundleManifest, hello_binary: Path, icon_file: Path, tmp_path: Path
) -> None:
    again = bundle_tree(
        str(hello_binary),
        str(tmp_path),
        environ=bundle_environ(),
        formats=(BundleFormat.RPM,),
        version=VERSION,
        metadata=metadata(icon_file),
    )
    first = output_path(gui_bundle, BundleFormat.RPM)
    assert output_path(again, BundleFormat.RPM).read_bytes() == first.read_bytes()


def test_manifest_with_an_rpm_follows_the_schema(gui_bundle: BundleManifest) -> None:
    document = to_document(BundleRun("elf", gui_bundle, None, ()))
    validate(document, "bundle-v1.json")
    formats = [output["format"] for output in document["bundle"]["outputs"]]
    assert formats == ["installer", "deb", "rpm", None, None, None, None]  # 3 SBOMs, SHA256SUMS


def test_cli_refuses_an_icon_of_no_hicolor_size_before_building(
    hello_binary: Path, tmp_path: Path
) -> None:
    icon = png(tmp_path / "odd.png", 100)
    out = tmp_path / "out"
    command = ["bundle", str(hello_binary), "--format", "rpm", "--icon", str(icon)]
    result = subprocess.run(
        [sys.executable, "-m", "packager", *command, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "the icon is 100x100" in result.stderr and "96x96" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_installing_a_version_without_an_entry_removes_the_old_entry(
    gui_bundle: BundleManifest, hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp_path)}
    run(["sh", str(output_path(gui_bundle, BundleFormat.INSTALLER))], env=environ)
    share = home / ".local" / "share"
    assert (share / "applications" / f"{BUNDLE_NAME}.desktop").is_file()
    # The plain hello bundle: the same app, with no --gui and no icon.
    run(["sh", str(output_path(hello_bundle, BundleFormat.INSTALLER))], env=environ)
    assert not (share / "applications" / f"{BUNDLE_NAME}.desktop").exists()
    assert not list(share.rglob("*.png"))
    run(["sh", str(home / ".local" / "opt" / BUNDLE_NAME / "uninstall")])
    assert files_under(home) == set()
