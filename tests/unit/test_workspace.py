"""Choosing the package of a workspace, from what `cargo metadata` says of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packager.core.errors import UsageError
from packager.crate.workspace import package_dir, resolved_features, select_package
from tests.helpers import REPO

WORKSPACE = REPO / "tests" / "crates" / "workspace"


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}


def test_a_member_builds_into_the_workspace_target_directory() -> None:
    selection = select_package(WORKSPACE / "app", package=None, binary=None, environ=_environ())
    assert selection.package.name == "ws-app" and selection.package.binaries == ("ws-app",)
    assert selection.workspace_root == WORKSPACE
    assert selection.target_dir == WORKSPACE / "target"
    assert selection.package.path_dependencies == (("ws-calc", WORKSPACE / "calc"),)
    assert selection.cargo_args() == ["--manifest-path", f"{WORKSPACE}/Cargo.toml", "-p", "ws-app"]


def test_cargo_target_dir_is_honoured() -> None:
    environ = {**_environ(), "CARGO_TARGET_DIR": "/tmp/elsewhere"}
    selection = select_package(WORKSPACE, package="ws-app", binary=None, environ=environ)
    assert selection.target_dir == Path("/tmp/elsewhere")


def test_the_root_of_a_workspace_with_several_programs_asks_for_one() -> None:
    with pytest.raises(UsageError, match="several programs: ws-app, ws-tool"):
        select_package(WORKSPACE, package=None, binary=None, environ=_environ())
    with pytest.raises(UsageError, match="no package 'nope'") as caught:
        select_package(WORKSPACE, package="nope", binary=None, environ=_environ())
    assert "ws-calc, ws-app, ws-tool" in (caught.value.fix or "")


def test_a_library_member_has_no_program() -> None:
    selection = select_package(WORKSPACE / "calc", package=None, binary=None, environ=_environ())
    assert selection.package.binaries == ()


def test_a_broken_manifest_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text("[package]\nname = \n", encoding="utf-8")
    with pytest.raises(UsageError, match="cargo cannot read this crate"):
        select_package(tmp_path, package=None, binary=None, environ=_environ())


def test_a_manifest_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_bytes(b'[package]\nname = "app"\ndescription = "\xff"\n')
    with pytest.raises(UsageError) as raised:
        package_dir(str(tmp_path), package=None, binary=None, environ=_environ())
    assert raised.value.message.startswith(
        "cannot read Cargo.toml: 'utf-8' codec can't decode byte 0xff"
    )


def test_features_a_dependency_turns_on_are_seen_by_the_program() -> None:
    # ws-calc asks for pyo3's auto-initialize; ws-app's manifest does not mention it.
    selection = select_package(WORKSPACE, package="ws-app", binary=None, environ=_environ())
    features = resolved_features(selection, "pyo3", environ=_environ())
    assert features is not None and "auto-initialize" in features
    tool = select_package(WORKSPACE, package="ws-tool", binary=None, environ=_environ())
    assert resolved_features(tool, "pyo3", environ=_environ()) == frozenset()
