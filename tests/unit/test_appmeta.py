"""App metadata for installers: [package], [package.metadata.packager] and flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.core.errors import UsageError
from packager.crate.appmeta import MetadataOptions, derived_upgrade_code, read_metadata
from packager.crate.icon import read_icon
from tests.helpers import png


def crate(tmp_path: Path, package: str, table: str = "") -> Path:
    (tmp_path / "Cargo.toml").write_text(
        f'[package]\nname = "demo"\n{package}\n'
        + (f"\n[package.metadata.packager]\n{table}\n" if table else ""),
        encoding="utf-8",
    )
    return tmp_path


def test_package_fields_are_the_defaults(tmp_path: Path) -> None:
    directory = crate(
        tmp_path,
        'version = "1.4.2"\ndescription = "Does things"\nlicense = "MIT"\n'
        'authors = ["Ada Lovelace <ada@example.org>"]\nrepository = "https://example.org/demo"',
    )
    meta = read_metadata(str(directory), "demo", version=None, flags=MetadataOptions())
    assert (meta.version, meta.description, meta.license) == ("1.4.2", "Does things", "MIT")
    assert meta.publisher == "Ada Lovelace" and meta.homepage == "https://example.org/demo"
    assert meta.display_name == "demo" and not meta.gui and meta.icon is None
    assert meta.upgrade_code == derived_upgrade_code("demo", "Ada Lovelace")
    assert meta.upgrade_code_derived


def test_the_table_overrides_the_package_and_flags_override_the_table(tmp_path: Path) -> None:
    png(tmp_path / "icon.png", 64)
    directory = crate(
        tmp_path,
        'version = "1.0.0"\ndescription = "plain"',
        'display-name = "Demo App"\ndescription = "from the table"\nicon = "icon.png"\n'
        'upgrade-code = "{6f1c0a3e-1111-2222-3333-444455556666}"\ngui = true',
    )
    meta = read_metadata(str(directory), "demo", version=None, flags=MetadataOptions())
    assert meta.display_name == "Demo App" and meta.description == "from the table"
    assert meta.icon is not None and meta.icon.size == 64
    assert meta.upgrade_code == "6F1C0A3E-1111-2222-3333-444455556666"
    assert not meta.upgrade_code_derived
    assert meta.gui and meta.categories == ("Utility",)
    flags = MetadataOptions(display_name="Flagged", gui=False, categories=("Game",))
    meta = read_metadata(str(directory), "demo", version="2.0", flags=flags)
    assert (meta.display_name, meta.gui, meta.categories, meta.version) == (
        "Flagged",
        False,
        ("Game",),
        "2.0",
    )


def test_workspace_inherited_fields_are_read(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text(
        '[workspace]\nmembers = ["app"]\n[workspace.package]\nversion = "3.1.0"\n'
        'license = "Apache-2.0"\n',
        encoding="utf-8",
    )
    member = tmp_path / "app"
    member.mkdir()
    crate(member, "version.workspace = true\nlicense.workspace = true")
    meta = read_metadata(str(member), "app", version=None, flags=MetadataOptions())
    assert (meta.version, meta.license) == ("3.1.0", "Apache-2.0")


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('displayname = "x"', ["unknown key", "displayname"]),
        ("gui = 1", ["gui", "true or false"]),
        ('icon = "missing.png"', ["icon", "cannot read"]),
        ('upgrade-code = "1234"', ["GUID"]),
        ('categories = "Utility"', ["categories", "list"]),
        ('publisher = ""', ["publisher", "non-empty"]),
    ],
)
def test_a_wrong_table_is_refused_with_the_key(
    tmp_path: Path, table: str, words: list[str]
) -> None:
    directory = crate(tmp_path, 'version = "1.0.0"', table)
    with pytest.raises(UsageError) as caught:
        read_metadata(str(directory), "demo", version=None, flags=MetadataOptions())
    assert all(word in str(caught.value) for word in words), caught.value


def test_icons_must_be_square_pngs(tmp_path: Path) -> None:
    assert read_icon(str(png(tmp_path / "a.png", 48))).size == 48
    for path in (png(tmp_path / "b.png", 48, 32), png(tmp_path / "c.png", 8)):
        with pytest.raises(UsageError, match="square PNG"):
            read_icon(str(path))
    (tmp_path / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(UsageError, match="not a PNG"):
        read_icon(str(tmp_path / "d.png"))


def test_a_binary_has_flags_only(tmp_path: Path) -> None:
    meta = read_metadata(None, "tool", version=None, flags=MetadataOptions(publisher="Me"))
    assert (meta.name, meta.version, meta.publisher) == ("tool", "0.0.0", "Me")


def test_a_flag_that_is_not_text_is_refused_before_anything_runs() -> None:
    flags = MetadataOptions(display_name="App \udcff")
    with pytest.raises(UsageError) as raised:
        read_metadata(None, "app", version=None, flags=flags)
    assert (raised.value.message, raised.value.fix) == (
        "--display-name is not UTF-8 text: b'App \\xff'",
        "give --display-name in UTF-8",
    )


def test_a_category_that_is_not_text_is_refused_by_its_option_name() -> None:
    flags = MetadataOptions(categories=("Utility", "Game\udcff"))
    with pytest.raises(UsageError) as raised:
        read_metadata(None, "app", version=None, flags=flags)
    assert raised.value.message == "--category is not UTF-8 text: b'Game\\xff'"


def test_authors_are_kept_as_written_for_the_package_maintainer(tmp_path: Path) -> None:
    directory = crate(tmp_path, 'authors = ["Ada Lovelace <ada@example.org>", "  Bob  "]')
    meta = read_metadata(str(directory), "demo", version=None, flags=MetadataOptions())
    assert meta.authors == ("Ada Lovelace <ada@example.org>", "Bob")


def test_an_author_with_a_control_character_is_refused(tmp_path: Path) -> None:
    # A newline would start a field of its own in a .deb's control file.
    directory = crate(tmp_path, 'authors = ["Ada <ada@example.org>", "Bob\\nDepends: evil"]')
    with pytest.raises(UsageError, match="author holds control characters"):
        read_metadata(str(directory), "demo", version=None, flags=MetadataOptions())
