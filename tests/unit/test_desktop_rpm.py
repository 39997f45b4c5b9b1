"""The desktop entry renderer (escaping, Exec quoting), icon sizes, and the RPM spec."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packager.bundle import BundleFormat, BundleRequest, bundle
from packager.core.context import Context
from packager.core.errors import ToolError, UsageError
from packager.crate.appmeta import AppMetadata, MetadataOptions
from packager.crate.icon import Icon
from packager.outputs.desktop import (
    check_theme_icon,
    exec_argument,
    exec_value,
    render_entry,
    stage_entry,
    string_value,
)
from packager.outputs.rpm import (
    PackageFiles,
    RpmVersion,
    package_file_name,
    rpm_requires,
    rpm_version,
    spec_text,
    write_rpm,
)
from packager.outputs.sysdeps import SystemNeeds
from tests.helpers import parse_desktop_exec, png

META = AppMetadata(
    name="My_App",
    display_name="My App",
    version="1.2.0",
    publisher="Example Ltd",
    description="Says hello\nat length",
    icon=None,
    license="MIT",
    homepage="https://example.org",
    upgrade_code="6F1C0000-0000-4000-8000-000000000000",
    upgrade_code_derived=False,
    gui=True,
    categories=("Utility", "Office"),
)


def entry_keys(text: str) -> dict[str, str]:
    lines = text.splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:])


def test_entry_of_a_gui_app() -> None:
    icon = Icon("/x/icon.png", 48)
    keys = entry_keys(render_entry(dataclasses.replace(META, icon=icon), "/usr/bin/My_App"))
    assert keys == {
        "Type": "Application",
        "Version": "1.0",
        "Name": "My App",
        "Comment": "Says hello",
        "Icon": "my-app",
        "Terminal": "false",
        "Categories": "Utility;Office;",
        "Exec": "/usr/bin/My_App",
    }


def test_console_app_runs_in_a_terminal_and_has_no_icon_key() -> None:
    meta = dataclasses.replace(META, gui=False, categories=(), description="")
    keys = entry_keys(render_entry(meta, None))
    assert keys["Terminal"] == "true"
    assert "Icon" not in keys and "Categories" not in keys and "Exec" not in keys
    assert "Comment" not in keys  # the summary would repeat Name


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two\\nlines"),
        ("tab\there", "tab\\there"),
        (" leading", "\\sleading"),
        ("100% = ok; [x]", "100% = ok; [x]"),
    ],
)
def test_string_values_are_escaped(value: str, written: str) -> None:
    assert string_value(value) == written


def test_other_control_characters_are_refused() -> None:
    with pytest.raises(UsageError, match="control characters"):
        string_value("bell\x07")
    with pytest.raises(UsageError, match="control characters"):
        render_entry(dataclasses.replace(META, display_name="a\x1bb"), None)


@pytest.mark.parametrize(
    ("argument", "written"),
    [
        ("/usr/bin/hello", "/usr/bin/hello"),
        ("/opt/a b/hello", '"/opt/a b/hello"'),
        ("/opt/$HOME/x", '"/opt/\\\\$HOME/x"'),
        ('/opt/"q"/x', '"/opt/\\\\"q\\\\"/x"'),
        ("/opt/`id`/x", '"/opt/\\\\`id\\\\`/x"'),
        ("/opt/back\\slash", '"/opt/back\\\\\\\\slash"'),
        ("/opt/100%/x", "/opt/100%%/x"),
        ("/opt/it's/x", '"/opt/it\'s/x"'),
        ("", '""'),
    ],
)
def test_exec_arguments_follow_the_spec(argument: str, written: str) -> None:
    assert exec_value([argument]) == written
    assert parse_desktop_exec(written) == [argument]


_ARGUMENT_CHARS = st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters="\n\t")


@given(st.lists(st.text(alphabet=_ARGUMENT_CHARS), min_size=1))
def test_exec_round_trips_through_a_strict_reader(arguments: list[str]) -> None:
    assert parse_desktop_exec(exec_value(arguments)) == arguments


def test_exec_argument_without_reserved_characters_is_left_bare() -> None:
    assert exec_argument("/home/me/.local/opt/app/app") == "/home/me/.local/opt/app/app"


def test_icon_sizes_outside_hicolor_are_refused_with_the_nearest() -> None:
    check_theme_icon(Icon("/x.png", 48))
    check_theme_icon(None)
    with pytest.raises(UsageError, match="100x100") as raised:
        check_theme_icon(Icon("/x.png", 100))
    assert raised.value.fix is not None and "96x96" in raised.value.fix


def test_stage_entry_writes_entry_and_icon(tmp_path: Path) -> None:
    icon = png(tmp_path / "icon.png", 64)
    meta = dataclasses.replace(META, icon=Icon(str(icon), 64))
    written = stage_entry(str(tmp_path / "share"), meta, "/usr/bin/My_App")
    assert written == ("applications/my-app.desktop", "icons/hicolor/64x64/apps/my-app.png")
    assert (tmp_path / "share" / written[1]).read_bytes() == icon.read_bytes()
    assert "Exec=/usr/bin/My_App\n" in (tmp_path / "share" / written[0]).read_text()


def test_a_wrong_icon_size_fails_before_any_build(tmp_path: Path) -> None:
    crate = tmp_path / "crate"
    crate.mkdir()
    (crate / "Cargo.toml").write_text('[package]\nname = "demo"\nversion = "1.0.0"\n')
    icon = png(tmp_path / "icon.png", 100)
    request = BundleRequest(
        str(crate),
        out_dir=str(tmp_path / "out"),
        formats=(BundleFormat.RPM,),
        metadata=MetadataOptions(icon=str(icon)),
    )
    with pytest.raises(UsageError, match="hicolor"):
        bundle(request, Context(environ={"PATH": "/nonexistent"}))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("version", "mapped"),
    [
        ("1.2.0", RpmVersion(None, "1.2.0", "1")),
        ("1.2.0-3", RpmVersion(None, "1.2.0", "3")),
        ("2:1.0~rc1+git5-0.1", RpmVersion("2", "1.0~rc1+git5", "0.1")),
    ],
)
def test_debian_versions_map_to_epoch_version_release(version: str, mapped: RpmVersion) -> None:
    assert rpm_version(version) == mapped


@pytest.mark.parametrize("version", ["1.0-2-3", "v1.0", "1.0-", "1:2:3", "1.0_beta"])
def test_versions_rpm_cannot_carry_are_refused(version: str) -> None:
    with pytest.raises(UsageError, match="cannot be an RPM version"):
        rpm_version(version)


def test_package_file_name() -> None:
    assert package_file_name("hello", "3:1.0-2", "x86_64") == "hello-1.0-2.x86_64.rpm"
    assert package_file_name("hello", "1.0", "aarch64") == "hello-1.0-1.aarch64.rpm"
    with pytest.raises(UsageError, match="no RPM architecture"):
        package_file_name("hello", "1.0", "mips")


def test_requires_state_the_floor_and_the_system_sonames() -> None:
    needs = SystemNeeds(
        "2.34", (("libgcc_s.so.1", "/lib/libgcc_s.so.1"), ("libz.so.1", "/lib/libz.so.1")), ()
    )
    assert rpm_requires(needs, "x86_64") == (
        "/bin/sh",
        "libc.so.6(GLIBC_2.34)(64bit)",
        "libgcc_s.so.1()(64bit)",
        "libz.so.1()(64bit)",
    )
    assert rpm_requires(SystemNeeds(None, (("libm.so.6", "/lib/libm.so.6"),), ()), "i386") == (
        "/bin/sh",
        "libm.so.6()",
    )


def spec_header(text: str) -> list[tuple[str, str]]:
    header = text.split("\n\n", 1)[0]
    return [(key, value) for key, _, value in (line.partition(": ") for line in header.split("\n"))]


def test_spec_carries_the_metadata_and_escapes_percent() -> None:
    meta = dataclasses.replace(
        META,
        version="2:1.0-3",
        license="100% MIT",
        description="Line one\n%files\n  %post -p /bin/evil\nrate: 50%",
    )
    text = spec_text(meta, package="my-app", requires=("/bin/sh",), files=("/opt/My_App",))
    assert spec_header(text) == [
        ("Name", "my-app"),
        ("Epoch", "2"),
        ("Version", "1.0"),
        ("Release", "3"),
        ("Summary", "Line one"),
        ("License", "100%% MIT"),
        ("URL", "https://example.org"),
        ("Vendor", "Example Ltd"),
        ("AutoReqProv", "no"),
        ("Requires", "/bin/sh"),
    ]
    description = text.split("%description\n", 1)[1].split("\n\n", 1)[0]
    assert description.splitlines() == [
        "Line one",
        " %%files",
        "   %%post -p /bin/evil",
        "rate: 50%%",
    ]
    sections = [line for line in text.splitlines() if line.startswith("%")]
    assert sections == ["%description", "%install", "%files", "%defattr(-,root,root,-)"]
    assert text.endswith('\n"/opt/My_App"\n')


def test_spec_without_licence_or_homepage() -> None:
    meta = dataclasses.replace(META, license=None, homepage=None)
    keys = dict(spec_header(spec_text(meta, package="my-app", requires=(), files=())))
    assert keys["License"] == "NOASSERTION"
    assert "URL" not in keys and "Epoch" not in keys


def test_missing_rpmbuild_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="'rpmbuild' was not found") as raised:
        write_rpm(
            str(tmp_path),
            "hello",
            "hello",
            meta=META,
            arch="x86_64",
            work_dir=str(tmp_path / "work"),
            out_path=str(tmp_path / "hello.rpm"),
            environ={"PATH": str(tmp_path)},
            mtime=0,
        )
    assert raised.value.fix is not None and "apt-get install rpm" in raised.value.fix
    assert not (tmp_path / "work").exists()


def test_spec_marks_the_licence_folder_and_the_install_folder() -> None:
    marked = PackageFiles(directories=("/opt/app",), licences=("/opt/app/licenses",))
    text = spec_text(META, package="app", requires=(), files=("/opt/app/bin",), marked=marked)
    files = text.split("%files\n", 1)[1].splitlines()
    expected = ["%defattr(-,root,root,-)", '"/opt/app/bin"', '%dir "/opt/app"']
    assert files == [*expected, '%license "/opt/app/licenses"']
