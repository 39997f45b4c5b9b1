"""A crate's `targets` in [package.metadata.packager]: bundle's --target when none is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.core.errors import UsageError
from packager.crate.appmeta import MetadataOptions, declared_targets, read_metadata
from tests.helpers import run_packager

MANIFEST = """[package]
name = "app"
version = "1.0.0"

[package.metadata.packager]
display-name = "App"
targets = {targets}
"""


def _crate(tmp_path: Path, targets: str) -> Path:
    (tmp_path / "Cargo.toml").write_text(MANIFEST.format(targets=targets))
    return tmp_path


def test_the_declared_targets_are_read_in_order(tmp_path: Path) -> None:
    crate = _crate(tmp_path, '["x86_64-pc-windows-gnu", "aarch64-unknown-linux-gnu"]')
    assert declared_targets(str(crate)) == ("x86_64-pc-windows-gnu", "aarch64-unknown-linux-gnu")


def test_the_key_is_no_installer_metadata_and_no_unknown_key(tmp_path: Path) -> None:
    crate = _crate(tmp_path, '["x86_64-pc-windows-gnu"]')
    meta = read_metadata(str(crate), "app", version=None, flags=MetadataOptions())
    assert meta.display_name == "App"


def test_targets_that_are_not_a_list_of_triples_are_refused(tmp_path: Path) -> None:
    crate = _crate(tmp_path, '"x86_64-pc-windows-gnu"')
    with pytest.raises(UsageError, match="targets must be a list of target triples"):
        declared_targets(str(crate))


def test_bundle_takes_them_when_no_target_is_given(tmp_path: Path) -> None:
    (tmp_path / "crate").mkdir()
    crate = _crate(tmp_path / "crate", '["x86_64-unknown-linux-gnu", "mips-unknown-linux-gnu"]')
    completed = run_packager("bundle", str(crate), "--out", str(tmp_path / "out"), timeout=60)
    assert completed.returncode == 2
    assert "no target 'mips-unknown-linux-gnu'" in completed.stderr
