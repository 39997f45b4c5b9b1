"""Windows installers of a bundle (.msi, NSIS setup.exe): installed, upgraded, removed.

samples/hello is built for x86_64-pc-windows-gnu and bundled as an .msi and a setup.exe
at 1.0.0 and 1.1.0, each with an app/ folder naming its version. In a fresh wine prefix
where no Python is installed, `msiexec /i … /qn` (or `setup.exe /S`) installs 1.0.0 for
the user; the Start-menu shortcut is read (the .lnk file itself) and its target run;
1.1.0 replaces 1.0.0 in place; `msiexec /x … /qn` (or `uninstall.exe /S`) leaves no file
and no registry key of the app behind.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from packager.binary.shell_link import shell_link_target
from packager.bundle import BundleFormat, BundleRequest, BundleRun, ContentOptions, bundle
from packager.bundle.options import ObtainOptions
from packager.core.context import Context
from packager.crate.appmeta import MetadataOptions
from packager.verify.sandbox import verify_bundle
from packager.verify.wine import WinePrefix, fresh_prefix
from tests.helpers import SAMPLES, png
from tests.integration.windows_helpers import TARGET, assert_hello_output

pytestmark = pytest.mark.integration

DISPLAY_NAME = "Hello Packager"
PUBLISHER = "Example Tests Ltd"
HOMEPAGE = "https://example.org/hello"
UPGRADE_CODE = "5C1A3E0B-8D2F-4C57-9E61-3B7A2F04D9C8"
VERSIONS = ("1.0.0", "1.1.0")
PROGRAMS = "AppData/Local/Programs"
START_MENU = "AppData/Roaming/Microsoft/Windows/Start Menu/Programs"


@dataclass(frozen=True)
class Package:
    version: str
    path: Path  # the .msi
    product_code: str  # {GUID}
    setup: Path  # the NSIS setup.exe of the same tree


def _msiinfo_table(msi: Path, table: str) -> list[list[str]]:
    """The rows of `table`, as `msiinfo export` prints them (three header lines).

    Binary columns are written as files under TABLE/ in the current directory: msiinfo
    runs beside the package.
    """
    exported = subprocess.run(
        ["msiinfo", "export", str(msi), table],
        capture_output=True,
        text=True,
        check=True,
        cwd=msi.parent,
    )
    return [line.split("\t") for line in exported.stdout.splitlines()[3:]]


def _hello_installers(
    out: Path,
    formats: tuple[BundleFormat, ...],
    windows_home: Path,
    environ: dict[str, str],
    app_dir: Path | None = None,
    **request: object,
) -> BundleRun:
    """samples/hello built for Windows and written as `formats` into `out`."""
    app = None if app_dir is None else str(app_dir)
    full = BundleRequest(
        str(SAMPLES / "hello"),
        out_dir=str(out),
        formats=formats,
        obtain=ObtainOptions(target=TARGET),
        content=ContentOptions(python_home=str(windows_home), app_dir=app),
        **request,  # type: ignore[arg-type]
    )
    return bundle(full, Context(environ=environ))


@pytest.fixture(scope="session")
def packages(
    windows_home: Path, cross_environ: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Package]:
    """The hello .msi and setup.exe at each version; app/version.txt names it, and so
    does the name of app/only-VERSION.txt."""
    work = tmp_path_factory.mktemp("msi")
    icon = png(work / "hello.png", 48)
    built: dict[str, Package] = {}
    for version in VERSIONS:
        app = work / f"app-{version}"
        app.mkdir()
        (app / "version.txt").write_text(version)
        (app / f"only-{version}.txt").write_text(version)
        out = work / f"out-{version}"
        metadata = MetadataOptions(
            display_name=DISPLAY_NAME,
            publisher=PUBLISHER,
            homepage=HOMEPAGE,
            icon=str(icon),
            upgrade_code=UPGRADE_CODE,
        )
        formats = (BundleFormat.MSI, BundleFormat.SETUP)
        run = _hello_installers(
            out, formats, windows_home, cross_environ, app, version=version, metadata=metadata
        )
        assert run.manifest is not None
        assert not [note for note in run.manifest.notes if "upgrade code" in note]
        written = {out.format: Path(out.path) for out in run.manifest.outputs}
        msi, setup = written[BundleFormat.MSI], written[BundleFormat.SETUP]
        assert msi.name == f"hello-{version}-x64.msi"
        assert setup.name == f"hello-{version}-setup.exe"
        properties = dict(row[:2] for row in _msiinfo_table(msi, "Property"))
        built[version] = Package(version, msi, properties["ProductCode"], setup)
    return built


def _packed(guid: str) -> str:
    """A GUID as Windows Installer writes it into registry key names."""
    hex_digits = guid.strip("{}").replace("-", "").upper()
    swapped = "".join(hex_digits[i + 1] + hex_digits[i] for i in range(16, 32, 2))
    return hex_digits[7::-1] + hex_digits[11:7:-1] + hex_digits[15:11:-1] + swapped


def _wine(prefix: WinePrefix, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [prefix.wine, *argv],
        env=dict(prefix.environ),
        cwd=os.path.join(prefix.path, "drive_c"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _windows_path_of(host: Path, prefix: WinePrefix) -> str:
    """The C:\\ path of a host path inside `prefix`'s drive_c."""
    relative = host.relative_to(Path(prefix.path, "drive_c"))
    return "C:\\" + "\\".join(relative.parts)


def _windows_path(prefix: WinePrefix, path: str) -> Path:
    """The host path of a C:\\ path inside `prefix`."""
    assert path[:3].upper() == "C:\\", path
    return Path(prefix.path, "drive_c", *path[3:].split("\\"))


def _registry(prefix: WinePrefix) -> str:
    return "".join(
        Path(prefix.path, name).read_text(encoding="utf-8", errors="replace")
        for name in ("user.reg", "system.reg")
    )


def _user_dir(prefix: WinePrefix) -> Path:
    [user] = [p for p in Path(prefix.path, "drive_c", "users").iterdir() if p.name != "Public"]
    return user


def _copy_in(prefix: WinePrefix, path: Path) -> str:
    """Put `path` into the prefix's C:\\packages; its Windows path."""
    inbox = Path(prefix.path, "drive_c", "packages")
    inbox.mkdir(exist_ok=True)
    (inbox / path.name).write_bytes(path.read_bytes())
    return f"C:\\packages\\{path.name}"


def _run_shortcut(prefix: WinePrefix, shortcut: Path, install_dir: Path) -> None:
    """Start what the Start-menu `shortcut` points to (the launcher in `install_dir`)."""
    assert shortcut.is_file(), sorted(p.name for p in shortcut.parent.iterdir())
    target = shell_link_target(shortcut.read_bytes())
    assert _windows_path(prefix, target) == install_dir / "hello.cmd"
    ran = _wine(prefix, target)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert_hello_output(ran.stdout)


def _install(prefix: WinePrefix, package: Package) -> None:
    installed = _wine(prefix, "msiexec", "/i", _copy_in(prefix, package.path), "/qn")
    assert installed.returncode == 0, installed.stdout + installed.stderr


def test_the_package_installs_per_user_without_elevation(packages: dict[str, Package]) -> None:
    msi = packages["1.0.0"].path
    properties = dict(row[:2] for row in _msiinfo_table(msi, "Property"))
    assert "ALLUSERS" not in properties  # per-user: Windows Installer's default scope
    assert properties["ProductVersion"] == "1.0.0"
    assert properties["UpgradeCode"] == "{" + UPGRADE_CODE + "}"
    assert properties["Manufacturer"] == PUBLISHER
    assert properties["ARPURLINFOABOUT"] == HOMEPAGE
    assert properties["ARPPRODUCTICON"] in {row[0] for row in _msiinfo_table(msi, "Icon")}
    summary = subprocess.run(
        ["msiinfo", "suminfo", str(msi)], capture_output=True, text=True, check=True
    ).stdout
    word_count = re.search(r"^Source: (\d+)", summary, re.MULTILINE)
    assert word_count is not None, summary
    assert int(word_count.group(1)) & 8, "the package asks for elevated privileges"
    files = {row[2].split("|")[-1] for row in _msiinfo_table(msi, "File")}
    assert {"hello.exe", "hello.cmd", "python311.dll", "python311.zip", "version.txt"} <= files
    assert not [f for f in files if f.endswith("._pth") or f == "bcryptprimitives.dll"]


def test_install_run_upgrade_and_uninstall_under_wine(
    packages: dict[str, Package], cross_environ: dict[str, str]
) -> None:
    old, new = packages["1.0.0"], packages["1.1.0"]
    with fresh_prefix(cross_environ) as prefix:
        user = _user_dir(prefix)
        install_dir = user / PROGRAMS / DISPLAY_NAME
        assert not install_dir.exists()
        _install(prefix, old)
        shortcut = user / START_MENU / f"{DISPLAY_NAME}.lnk"
        _run_shortcut(prefix, shortcut, install_dir)
        assert (install_dir / "app" / "version.txt").read_text() == "1.0.0"
        registry = _registry(prefix)
        assert f"Uninstall\\\\{old.product_code}]" in registry
        assert f'"Publisher"="{PUBLISHER}"' in registry

        _install(prefix, new)
        assert (install_dir / "app" / "version.txt").read_text() == "1.1.0"
        assert not (install_dir / "app" / "only-1.0.0.txt").exists()
        assert (install_dir / "app" / "only-1.1.0.txt").is_file()
        registry = _registry(prefix)
        assert old.product_code not in registry and _packed(old.product_code) not in registry
        assert f"Uninstall\\\\{new.product_code}]" in registry
        upgrade_key = re.search(
            rf"\[Software\\\\Microsoft\\\\Installer\\\\UpgradeCodes\\\\{_packed(UPGRADE_CODE)}\][^\[]*",
            registry,
        )
        assert upgrade_key is not None
        assert re.findall(r'^"([0-9A-F]{32})"=', upgrade_key.group(0), re.MULTILINE) == [
            _packed(new.product_code)
        ]
        _run_shortcut(prefix, shortcut, install_dir)
        # Running it wrote .pyc files the package never installed: uninstalling removes them.
        assert list(install_dir.rglob("__pycache__/*.pyc"))

        removed = _wine(prefix, "msiexec", "/x", f"C:\\packages\\{new.path.name}", "/qn")
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert not install_dir.exists(), sorted(str(p) for p in install_dir.rglob("*"))
        assert not shortcut.exists()
        registry = _registry(prefix)
        install_path = "\\\\".join(["Programs", DISPLAY_NAME])
        for trace in (
            new.product_code.strip("{}"),
            _packed(new.product_code),
            UPGRADE_CODE,
            _packed(UPGRADE_CODE),
            PUBLISHER,
            install_path,
        ):
            assert trace.lower() not in registry.lower(), trace


def test_verify_installs_runs_and_removes_the_package(
    packages: dict[str, Package], cross_environ: dict[str, str]
) -> None:
    result = verify_bundle(str(packages["1.1.0"].path), ["ignored"], environ=cross_environ)
    assert result.ok, result.stdout + result.stderr
    assert_hello_output(result.stdout)
    assert result.command[0].endswith(f"\\Programs\\{DISPLAY_NAME}\\hello.cmd")
    assert result.command[1:] == ("ignored",)


def _uninstall_key(registry: str) -> str:
    """The text of the app's key under HKCU's Uninstall, as user.reg holds it."""
    found = re.search(
        rf"\[Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Uninstall\\\\"
        rf"\{{{UPGRADE_CODE}\}}\][^\[]*",
        registry,
    )
    assert found is not None, "no Uninstall key named by the upgrade code"
    return found.group(0)


def test_setup_exe_installs_upgrades_and_uninstalls_silently(
    packages: dict[str, Package], cross_environ: dict[str, str]
) -> None:
    old, new = packages["1.0.0"], packages["1.1.0"]
    with fresh_prefix(cross_environ) as prefix:
        user = _user_dir(prefix)
        install_dir = user / PROGRAMS / DISPLAY_NAME
        installed = _wine(prefix, _copy_in(prefix, old.setup), "/S")
        assert installed.returncode == 0, installed.stdout + installed.stderr
        shortcut = user / START_MENU / f"{DISPLAY_NAME}.lnk"
        _run_shortcut(prefix, shortcut, install_dir)
        key = _uninstall_key(Path(prefix.path, "user.reg").read_text(encoding="utf-8"))
        assert '"DisplayVersion"="1.0.0"' in key and f'"Publisher"="{PUBLISHER}"' in key
        assert f'"URLInfoAbout"="{HOMEPAGE}"' in key

        installed = _wine(prefix, _copy_in(prefix, new.setup), "/S")
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert (install_dir / "app" / "version.txt").read_text() == "1.1.0"
        assert not (install_dir / "app" / "only-1.0.0.txt").exists()
        registry = Path(prefix.path, "user.reg").read_text(encoding="utf-8")
        assert registry.count(UPGRADE_CODE) == 1
        assert '"DisplayVersion"="1.1.0"' in _uninstall_key(registry)
        _run_shortcut(prefix, shortcut, install_dir)
        assert list(install_dir.rglob("__pycache__/*.pyc"))

        # The uninstaller copies itself away and runs from there: wait for every program.
        uninstaller = _windows_path_of(install_dir, prefix) + "\\uninstall.exe"
        removed = _wine(prefix, uninstaller, "/S")
        assert removed.returncode == 0, removed.stdout + removed.stderr
        subprocess.run(["wineserver", "-w"], env=dict(prefix.environ), check=True, timeout=600)
        assert not install_dir.exists(), sorted(str(p) for p in install_dir.rglob("*"))
        assert not shortcut.exists()
        registry = _registry(prefix)
        for trace in (UPGRADE_CODE, PUBLISHER, "\\\\".join(["Programs", DISPLAY_NAME])):
            assert trace.lower() not in registry.lower(), trace


def test_verify_installs_runs_and_removes_the_setup_exe(
    packages: dict[str, Package], cross_environ: dict[str, str]
) -> None:
    result = verify_bundle(str(packages["1.0.0"].setup), environ=cross_environ)
    assert result.ok, result.stdout + result.stderr
    assert_hello_output(result.stdout)


def test_an_upgrade_code_derived_from_the_name_is_noted(
    windows_home: Path, cross_environ: dict[str, str], tmp_path: Path
) -> None:
    formats = (BundleFormat.MSI, BundleFormat.SETUP)
    run = _hello_installers(tmp_path, formats, windows_home, cross_environ)
    assert run.manifest is not None
    [note] = [note for note in run.manifest.notes if "upgrade code" in note]
    assert "upgrade code" in note and "--upgrade-code" in note
    properties = dict(
        row[:2] for row in _msiinfo_table(tmp_path / "hello-0.1.0-x64.msi", "Property")
    )
    assert properties["ProductVersion"] == "0.1.0"  # samples/hello's Cargo.toml version


def test_a_windowed_app_s_shortcut_starts_the_program_itself(
    windows_home: Path, cross_environ: dict[str, str], tmp_path: Path
) -> None:
    metadata = MetadataOptions(gui=True, upgrade_code=UPGRADE_CODE)
    run = _hello_installers(
        tmp_path, (BundleFormat.MSI,), windows_home, cross_environ, metadata=metadata, verify=True
    )
    [result] = run.verified
    assert result.ok, result.stdout + result.stderr
    # No launcher script (whose console would flash): the .exe finds its runtime beside it.
    assert result.command[0].endswith("\\Programs\\hello\\hello.exe")
    assert_hello_output(result.stdout)


@pytest.mark.parametrize(
    ("fmt", "display_name"),
    [(BundleFormat.MSI, "Héllo Café"), (BundleFormat.SETUP, "Héllo ✓ 你好")],
)
def test_a_display_name_beyond_ascii_installs_runs_and_uninstalls(
    fmt: BundleFormat,
    display_name: str,
    windows_home: Path,
    cross_environ: dict[str, str],
    tmp_path: Path,
) -> None:
    # An .msi's tables are in Windows-1252; NSIS takes any Unicode.
    metadata = MetadataOptions(display_name=display_name, upgrade_code=UPGRADE_CODE)
    run = _hello_installers(
        tmp_path, (fmt,), windows_home, cross_environ, metadata=metadata, verify=True
    )
    [result] = run.verified
    assert result.ok, result.stdout + result.stderr
    assert result.command[0].endswith(f"\\Programs\\{display_name}\\hello.cmd")
    assert_hello_output(result.stdout)
