"""The licences of the crates compiled into a program: their sources found where cargo
unpacks them in a CARGO_HOME made here (registry and git), read within bounds; the
entries, notes and refusals they make; identical texts written once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packager.bundle.crate_sources import MAX_FILE_BYTES, find_crate_source
from packager.bundle.licences import Notice, crate_notices, refuse_or_note, write_texts
from packager.bundle.sbom_ids import Crate
from packager.core.errors import UsageError

REGISTRY = "registry+https://example.invalid/index"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
GIT = f"git+https://example.invalid/repo?branch=main#{COMMIT}"
MIT = "Copyright (c) the foo authors\n\nPermission is hereby granted...\n"
APACHE = "Apache License\nVersion 2.0, January 2004\n"


def _registry_crate(home: Path, name: str = "foo", version: str = "1.2.3") -> Path:
    """A crate as cargo unpacks one from a registry: Cargo.toml, two licence texts, code."""
    folder = home / "registry" / "src" / "index-0123456789abcdef" / f"{name}-{version}"
    (folder / "src").mkdir(parents=True)
    (folder / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "{version}"\nlicense = "MIT/Apache-2.0"\n'
    )
    (folder / "LICENSE-MIT").write_text(MIT)
    (folder / "LICENSE-APACHE").write_text(APACHE)
    (folder / "src" / "lib.rs").write_text("")
    return folder


def _names(texts: tuple[str, ...]) -> list[str]:
    return sorted(os.path.basename(text) for text in texts)


def test_a_registry_crate_gives_its_licence_and_texts(tmp_path: Path) -> None:
    _registry_crate(tmp_path)
    found = find_crate_source(Crate("foo", "1.2.3", REGISTRY), str(tmp_path))
    assert (found.licence, _names(found.texts)) == (
        "MIT OR Apache-2.0",
        ["LICENSE-APACHE", "LICENSE-MIT"],
    )


def test_a_licence_file_linking_out_of_the_crate_is_not_read(tmp_path: Path) -> None:
    folder = _registry_crate(tmp_path / "cargo")
    secret = tmp_path / "secret.txt"
    secret.write_text("not the crate's\n")
    (folder / "COPYING").symlink_to(secret)
    found = find_crate_source(Crate("foo", "1.2.3", REGISTRY), str(tmp_path / "cargo"))
    assert _names(found.texts) == ["LICENSE-APACHE", "LICENSE-MIT"]


def test_a_licence_file_over_the_bound_is_skipped(tmp_path: Path) -> None:
    folder = _registry_crate(tmp_path)
    with open(folder / "NOTICE", "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    found = find_crate_source(Crate("foo", "1.2.3", REGISTRY), str(tmp_path))
    assert _names(found.texts) == ["LICENSE-APACHE", "LICENSE-MIT"]


def test_a_crate_cargo_has_not_unpacked_has_no_texts(tmp_path: Path) -> None:
    _registry_crate(tmp_path)
    found = find_crate_source(Crate("foo", "9.9.9", REGISTRY), str(tmp_path))
    assert (found.folder, found.licence, found.texts) == (None, "", ())


def test_a_git_crate_is_found_in_its_commit_checkout_with_its_workspace_licence(
    tmp_path: Path,
) -> None:
    """A workspace member inheriting `version` and `license`, whose LICENSE links to the
    repository's top (inside the checkout: read); another commit's checkout is not it."""
    checkouts = tmp_path / "git" / "checkouts" / "repo-0123456789abcdef"
    other = checkouts / "fffffff" / "crates" / "bar"
    other.mkdir(parents=True)
    (other / "Cargo.toml").write_text('[package]\nname = "bar"\nversion = "0.1.0"\n')
    top = checkouts / COMMIT[:7]
    member = top / "crates" / "bar"
    member.mkdir(parents=True)
    (top / "Cargo.toml").write_text(
        '[workspace]\nmembers = ["crates/bar"]\n'
        '[workspace.package]\nversion = "0.1.0"\nlicense = "Zlib"\n'
    )
    (top / "LICENSE").write_text("zlib licence of bar\n")
    (member / "Cargo.toml").write_text(
        '[package]\nname = "bar"\nversion.workspace = true\nlicense.workspace = true\n'
    )
    (member / "LICENSE").symlink_to("../../LICENSE")
    found = find_crate_source(Crate("bar", "0.1.0", GIT), str(tmp_path))
    assert (found.folder, found.licence, found.texts) == (
        str(member),
        "Zlib",
        (os.path.realpath(top / "LICENSE"),),
    )


def test_crate_notices_read_cargo_home_from_the_environment(tmp_path: Path) -> None:
    _registry_crate(tmp_path / "cargo")
    app = tmp_path / "app"
    app.mkdir()
    (app / "Cargo.lock").write_text(
        'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n\n'
        f'[[package]]\nname = "foo"\nversion = "1.2.3"\nsource = "{REGISTRY}"\n'
    )
    notices = crate_notices(str(app), "bin/app", {"CARGO_HOME": str(tmp_path / "cargo")})
    found = [(n.component, n.kind, n.licence, n.covers, len(n.texts)) for n in notices]
    assert found == [("foo 1.2.3", "cargo", "MIT OR Apache-2.0", ("bin/app",), 2)]


def _crate(name: str, texts: tuple[str, ...] = (), licence: str = "") -> Notice:
    return Notice(f"{name} 1.0.0", ("bin/app",), texts, licence, stated=True, kind="cargo")


def test_strict_licences_refuses_a_crate_without_text_or_licence() -> None:
    notices = [_crate("known", licence="MIT"), _crate("unknown")]
    with pytest.raises(UsageError, match=r"crate unknown 1\.0\.0"):
        refuse_or_note([], notices, strict=True)


def test_crates_without_texts_make_one_note_counting_them() -> None:
    notices = [_crate("stated", licence="MIT"), _crate("unknown"), _crate("shipped", ("/x",))]
    notes = refuse_or_note([], notices, strict=False)
    assert [note.split(" (")[0] for note in notes] == [
        "2 of 3 crates compiled into the program have no licence text in licenses/"
    ]


def test_identical_texts_are_written_once_and_named_by_both_entries(tmp_path: Path) -> None:
    one = _registry_crate(tmp_path / "cargo", "one")
    two = _registry_crate(tmp_path / "cargo", "two")
    (two / "LICENSE-MIT").write_text(MIT.replace("foo", "two"))
    notices = [
        _crate("one", (str(one / "LICENSE-APACHE"), str(one / "LICENSE-MIT"))),
        _crate("two", (str(two / "LICENSE-APACHE"), str(two / "LICENSE-MIT"))),
    ]
    tree = tmp_path / "tree"
    write_texts(str(tree), notices)
    index = (tree / "licenses" / "README").read_text()
    written = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    assert (written, index.count("text: licenses/one-1.0.0/LICENSE-APACHE")) == (
        [
            "licenses/README",
            "licenses/one-1.0.0/LICENSE-APACHE",
            "licenses/one-1.0.0/LICENSE-MIT",
            "licenses/two-1.0.0/LICENSE-MIT",
        ],
        2,
    )
