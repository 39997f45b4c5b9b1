"""The pure parts of the .msi writer: versions, the ICO container and the WiX source."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from packager.core.errors import UsageError
from packager.crate.appmeta import AppMetadata
from packager.crate.icon import Icon
from packager.outputs.ico import png_to_ico
from packager.outputs.msi import (
    MsiPlan,
    check_metadata,
    component_guid,
    msi_file_name,
    msi_version,
    plan_msi,
    product_code,
    wix_source,
)
from packager.outputs.windows import install_folder, windows_platform
from tests.helpers import SAMPLES, png, run_packager

WIX = "{http://schemas.microsoft.com/wix/2006/wi}"
UPGRADE_CODE = "0F8D3A52-6C1B-4E7A-9D20-5B3C8E1F4A67"
META = AppMetadata(
    name="hello",
    display_name="Hello & <Friends>",
    version="1.2.3",
    publisher="Example Ltd",
    description="Says hello\nfrom Rust",
    icon=None,
    license="MIT",
    homepage="https://example.org/hello?a=1&b=2",
    upgrade_code=UPGRADE_CODE,
    upgrade_code_derived=False,
    gui=False,
    categories=(),
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("1", "1.0.0"), ("1.2", "1.2.0"), ("0.0.0", "0.0.0"), ("255.255.65535", "255.255.65535")],
)
def test_numeric_versions_become_three_part_product_versions(given: str, expected: str) -> None:
    assert msi_version(given) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("1.0.0-1", ["numeric", "'1.0.0-1'"]),
        ("1.0~rc1", ["numeric"]),
        ("2:1.0", ["numeric"]),
        ("1.2.3.4", ["numeric"]),
        ("v1.0", ["numeric"]),
        ("256.0.0", ["major", "255"]),
        ("1.256", ["minor", "255"]),
        ("1.0.65536", ["build", "65535"]),
    ],
)
def test_versions_msi_cannot_carry_are_refused_with_a_fix(given: str, words: list[str]) -> None:
    with pytest.raises(UsageError) as refused:
        msi_version(given)
    assert all(word in refused.value.message for word in words), refused.value.message
    assert refused.value.fix is not None and "--version" in refused.value.fix


def test_file_name_and_platform() -> None:
    assert msi_file_name("hello", "1.2", "x86_64") == "hello-1.2.0-x64.msi"
    assert windows_platform("i386") == "x86"
    with pytest.raises(UsageError, match="aarch64"):
        windows_platform("aarch64")
    with pytest.raises(UsageError, match="numeric"):
        msi_file_name("hello", "1.0-beta", "x86_64")


@pytest.mark.parametrize("side", [16, 48, 255, 256, 512])
def test_the_ico_holds_the_png_whole(side: int, tmp_path: Path) -> None:
    image = png(tmp_path / "icon.png", side).read_bytes()
    ico = png_to_ico(image)
    reserved, kind, count = struct.unpack_from("<HHH", ico, 0)
    assert (reserved, kind, count) == (0, 1, 1)
    width, height, colours, _, planes, bits, size, offset = struct.unpack_from("<BBBBHHII", ico, 6)
    expected_side = side if side < 256 else 0  # 0 stands for 256 (and larger PNGs)
    assert (width, height, colours, planes, bits) == (expected_side, expected_side, 0, 1, 32)
    assert (size, offset) == (len(image), 22)
    assert ico[offset : offset + size] == image and len(ico) == 22 + len(image)


def test_ico_refuses_what_is_not_a_png() -> None:
    with pytest.raises(ValueError, match="PNG"):
        png_to_ico(b"GIF89a" + bytes(30))


def _tree(root: Path) -> Path:
    for path, text in {
        "hello.exe": "MZ",
        "hello.cmd": "@echo off",
        "python311.dll": "MZ",
        "Lib/site-packages/_packager_restore_env.py": "",
        "Lib/site-packages/_packager_restore_env.pth": "import _packager_restore_env",
        "app/main.py": "print(1)",
        "app/data/values.txt": "1",
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "app" / "empty").mkdir()
    return root


def _plan(tmp_path: Path, meta: AppMetadata = META, icon: str | None = None) -> MsiPlan:
    root = tmp_path / "hello"
    if not root.exists():
        _tree(root)
    return plan_msi(
        str(root), "hello", meta, arch="x86_64", python_version="3.11.9", icon=icon,
        base=str(tmp_path),
    )  # fmt: skip


def _parse(plan: MsiPlan) -> ET.Element:
    return ET.fromstring(wix_source(plan).xml)


def _components(wix: ET.Element) -> dict[str, ET.Element]:
    return {c.attrib["Id"]: c for c in wix.iter(f"{WIX}Component")}


def _file_paths(wix: ET.Element) -> dict[str, str]:
    """{path in the bundle: its component's GUID}, from the Directory nesting."""
    found: dict[str, str] = {}

    def walk(directory: ET.Element, prefix: str) -> None:
        for child in directory:
            if child.tag == f"{WIX}Directory":
                walk(child, f"{prefix}{child.attrib['Name']}/")
            elif child.tag == f"{WIX}Component":
                for file in child.iter(f"{WIX}File"):
                    found[prefix + file.attrib["Name"]] = child.attrib["Guid"]

    install = next(d for d in wix.iter(f"{WIX}Directory") if d.attrib["Id"] == "INSTALLDIR")
    walk(install, "")
    return found


def test_every_file_is_a_component_whose_guid_comes_from_its_path(tmp_path: Path) -> None:
    wix = _parse(_plan(tmp_path))
    files = _file_paths(wix)
    assert sorted(files) == [
        "Lib/site-packages/_packager_restore_env.pth",
        "Lib/site-packages/_packager_restore_env.py",
        "app/data/values.txt",
        "app/main.py",
        "hello.cmd",
        "hello.exe",
        "python311.dll",
    ]
    for path, guid in files.items():
        assert guid == component_guid(UPGRADE_CODE, path)
    guids = [c.attrib["Guid"] for c in _components(wix).values()]
    assert len(set(guids)) == len(guids)
    assert all(c.attrib.get("Win64") == "yes" for c in _components(wix).values())
    # Every component is installed, once.
    refs = [r.attrib["Id"] for r in wix.iter(f"{WIX}ComponentRef")]
    assert sorted(refs) == sorted(_components(wix))
    # Ids are unique within each table (an element kind).
    ids = [(e.tag, e.attrib["Id"]) for e in wix.iter() if "Id" in e.attrib]
    assert len(set(ids)) == len(ids)


def test_guids_stay_across_versions_and_differ_across_apps(tmp_path: Path) -> None:
    old = _parse(_plan(tmp_path))
    new = _parse(_plan(tmp_path, replace(META, version="1.3.0")))
    other = _parse(_plan(tmp_path, replace(META, upgrade_code=UPGRADE_CODE[:-1] + "8")))
    assert _file_paths(old) == _file_paths(new)
    assert not set(_file_paths(old).values()) & set(_file_paths(other).values())
    [old_product] = old.iter(f"{WIX}Product")
    [new_product] = new.iter(f"{WIX}Product")
    assert old_product.attrib["Id"] == product_code(UPGRADE_CODE, "1.2.3")
    assert old_product.attrib["Id"] != new_product.attrib["Id"]
    assert new_product.attrib["Version"] == "1.3.0"
    assert old_product.attrib["UpgradeCode"] == new_product.attrib["UpgradeCode"] == UPGRADE_CODE


def test_product_package_and_add_remove_programs(tmp_path: Path) -> None:
    wix = _parse(_plan(tmp_path))
    [product] = wix.iter(f"{WIX}Product")
    assert product.attrib["Name"] == "Hello & <Friends>"  # escaped, read back whole
    assert product.attrib["Manufacturer"] == "Example Ltd"
    [package] = wix.iter(f"{WIX}Package")
    assert package.attrib["InstallScope"] == "perUser"
    assert package.attrib["Description"] == "Says hello"
    assert len(list(wix.iter(f"{WIX}MajorUpgrade"))) == 1
    properties = {p.attrib["Id"]: p.attrib["Value"] for p in wix.iter(f"{WIX}Property")}
    assert properties["ARPURLINFOABOUT"] == "https://example.org/hello?a=1&b=2"
    assert "ARPPRODUCTICON" not in properties and not list(wix.iter(f"{WIX}Icon"))
    assert "ALLUSERS" not in properties
    directories = {d.attrib["Id"]: d for d in wix.iter(f"{WIX}Directory")}
    assert directories["ProgramsFolder"].attrib["Name"] == "Programs"
    assert "ProgramsFolder" in [d.attrib["Id"] for d in directories["LocalAppDataFolder"]]
    # Windows refuses < > in a folder name: the bundle's name is used instead.
    assert directories["INSTALLDIR"].attrib["Name"] == "hello"


def test_the_shortcut_starts_the_launcher_or_the_windowed_program(tmp_path: Path) -> None:
    ico = tmp_path / "AppIcon.ico"
    ico.write_bytes(b"")
    meta = replace(META, display_name="Hello", icon=Icon(str(tmp_path / "h.png"), 48))
    console = _parse(_plan(tmp_path, meta, icon=str(ico)))
    [shortcut] = console.iter(f"{WIX}Shortcut")
    assert shortcut.attrib["Target"] == "[INSTALLDIR]hello.cmd"
    assert (
        shortcut.attrib["Name"] == "Hello" and shortcut.attrib["WorkingDirectory"] == "INSTALLDIR"
    )
    assert shortcut.attrib["Icon"] == "AppIcon.ico"
    [icon] = console.iter(f"{WIX}Icon")
    assert icon.attrib["SourceFile"] == "AppIcon.ico"  # relative: wixl reads no other paths
    [registry] = console.iter(f"{WIX}RegistryValue")
    assert registry.attrib["Root"] == "HKCU" and registry.attrib["KeyPath"] == "yes"
    assert registry.attrib["Key"] == "Software\\Example Ltd\\hello"
    windowed = _parse(_plan(tmp_path, replace(meta, gui=True), icon=str(ico)))
    [shortcut] = windowed.iter(f"{WIX}Shortcut")
    assert shortcut.attrib["Target"] == "[INSTALLDIR]hello.exe"


def test_every_folder_and_the_pycache_python_writes_is_removed(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    source = wix_source(plan)
    wix = ET.fromstring(source.xml)
    install = next(d for d in wix.iter(f"{WIX}Directory") if d.attrib["Id"] == "INSTALLDIR")
    ours = list(install.iter(f"{WIX}Directory"))
    components = list(wix.iter(f"{WIX}Component"))
    removed_by = {c.attrib["Id"] for c in components if c.find(f"{WIX}RemoveFolder") is not None}
    for directory in ours:
        components = [c for c in directory if c.tag == f"{WIX}Component"]
        assert any(c.attrib["Id"] in removed_by for c in components), directory.attrib
    names = {d.attrib.get("Name") for d in ours}
    assert {"Lib", "site-packages", "app", "data", "empty", "__pycache__"} <= names
    pycaches = [d for d in ours if d.attrib.get("Name") == "__pycache__"]
    assert len(pycaches) == 2  # beside Lib/site-packages/*.py and app/main.py
    rows = "\n".join(source.queries)
    for name in ("*", "_packager_restore_env.cpython-311.pyc", "main.cpython-311.opt-2.pyc"):
        assert f"'{name}'" in rows
    assert all(query.startswith("INSERT INTO `RemoveFile`") for query in source.queries)
    assert all(query.endswith(", 2)") for query in source.queries)  # on uninstall


@pytest.mark.parametrize(
    ("display", "folder"),
    [("Hello", "Hello"), ("Hello: the app", "hello"), ("Hello.", "hello"), ("A/B", "hello")],
)
def test_install_folder_is_the_display_name_when_windows_allows(display: str, folder: str) -> None:
    assert install_folder(replace(META, display_name=display)) == folder


WINDOWS = ["--target", "x86_64-pc-windows-gnu", "--python-home", "/nonexistent"]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ([*WINDOWS, "--format", "msi", "--version", "1.0-beta"], ["numeric", "'1.0-beta'"]),
        ([*WINDOWS, "--format", "zip,msi", "--version", "1.300"], ["minor", "255"]),
        (["--format", "msi"], ["Linux (ELF)", "cannot be written as msi"]),
        (["--format", "setup"], ["Linux (ELF)", "cannot be written as setup"]),
        (["--format", "zip", "--icon", "/x.png", *WINDOWS], ["--icon", "msi,setup"]),
    ],
)
def test_windows_installer_requests_are_refused_before_the_build(
    arguments: list[str], words: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_packager("bundle", "--out", str(out), *arguments, str(SAMPLES / "hello"))
    assert result.returncode == 2, result.stderr
    assert all(word in result.stderr for word in words), result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("display_name", "Hello ✓", "--display-name"),
        ("publisher", "例 Ltd", "--publisher"),
        ("description", "Says 👋", "--description"),
        ("homepage", "https://example.org/✓", "--homepage"),
    ],
)
def test_text_beyond_windows_1252_is_refused_for_an_msi(
    field: str, value: str, option: str
) -> None:
    with pytest.raises(UsageError) as refused:
        check_metadata(replace(META, **{field: value}))
    assert "Windows-1252" in refused.value.message and value in refused.value.message
    assert refused.value.fix is not None
    assert option in refused.value.fix and "--format setup" in refused.value.fix
    check_metadata(replace(META, display_name="Héllo Café", publisher="Ünïcode GmbH"))


def test_a_file_name_beyond_windows_1252_is_refused_naming_the_file(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    odd = Path(plan.root, "app", "notes ✓.txt")
    odd.write_text("x")
    with pytest.raises(UsageError) as refused:
        wix_source(plan)
    assert refused.value.path == str(odd) and "rename" in (refused.value.fix or "")


@pytest.mark.parametrize(
    ("field", "option"),
    [("display_name", "--display-name"), ("publisher", "--publisher"),
     ("description", "--description"), ("homepage", "--homepage")],
)  # fmt: skip
def test_a_dollar_that_wixl_would_expand_is_refused_for_an_msi(field: str, option: str) -> None:
    with pytest.raises(UsageError, match=r"holds '\$', which wixl's preprocessor") as refused:
        check_metadata(replace(META, **{field: "App $(env.SECRET_TOKEN)"}))
    assert refused.value.fix is not None and option in refused.value.fix


def test_a_file_name_with_a_dollar_is_refused_naming_the_file(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    odd = Path(plan.root, "app", "price $5.txt")
    odd.write_text("x")
    with pytest.raises(UsageError, match=r"holds '\$'") as refused:
        wix_source(plan)
    assert refused.value.path == str(odd)
