"""Static builds of crates using PyO3's `auto-initialize`: what the config says and why.

The builds themselves are in test_unmodified_apps.py (PyO3 0.20, static, folder and
onefile); these read the pieces: which crates turn the feature on, the config written for
them, and the PyO3 version a crate is locked to.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from packager.crate.build import _uses_auto_initialize
from packager.crate.pyo3_config import (
    Mode,
    config_file_path,
    config_for,
    for_auto_initialize,
    locked_pyo3_version,
    parse,
    render,
)
from packager.python.interpreters import probe

DEBIAN_PYTHON = "/usr/bin/python3.11"


@pytest.mark.parametrize(
    ("manifest", "uses"),
    [
        ('[dependencies]\npyo3 = { version = "0.20", features = ["auto-initialize"] }', True),
        ('[dependencies.pyo3]\nversion = "0.20"\nfeatures = ["auto-initialize"]', True),
        (
            '[target."cfg(unix)".dependencies]\n'
            'pyo3 = { version = "0.22", features = ["auto-initialize"] }',
            True,
        ),
        ('[dependencies]\npyo3 = "0.29"\n[features]\ndefault = ["pyo3/auto-initialize"]', True),
        ('[dependencies]\npyo3 = { version = "0.29", features = ["abi3"] }', False),
        ('[dependencies]\npyo3 = "0.29"', False),
    ],
)
def test_crates_turning_the_feature_on_are_found(manifest: str, uses: bool) -> None:
    assert _uses_auto_initialize(tomllib.loads(manifest)) is uses


def test_the_feature_gets_shared_true_and_the_same_static_link() -> None:
    if not os.path.exists(DEBIAN_PYTHON):
        pytest.fail(f"{DEBIAN_PYTHON} (a static-capable Debian Python) is not installed")
    static = config_for(probe(DEBIAN_PYTHON, dict(os.environ)), "static")
    accepted = for_auto_initialize(static)
    assert (static.shared, accepted.shared) == (False, True)
    # Only `shared` differs: PyO3's own link line stays suppressed, ours link the archive.
    assert accepted.suppress_build_script_link_lines
    assert accepted.extra_build_script_lines == static.extra_build_script_lines
    assert any(
        "static:+whole-archive=python3.11" in line for line in accepted.extra_build_script_lines
    )
    assert accepted.mode is Mode.STATIC
    assert parse(render(accepted)).mode is Mode.STATIC
    target = Path("/target")
    assert config_file_path(static, target) != config_file_path(accepted, target)
    dynamic = config_for(probe(DEBIAN_PYTHON, dict(os.environ)), "dynamic")
    assert for_auto_initialize(dynamic) == dynamic


def test_the_locked_pyo3_version_is_read_from_the_crate_or_its_workspace(tmp_path: Path) -> None:
    member = tmp_path / "members" / "app"
    member.mkdir(parents=True)
    assert locked_pyo3_version(member) is None  # no Cargo.lock in it or above it yet
    (tmp_path / "Cargo.lock").write_text(
        'version = 4\n\n[[package]]\nname = "pyo3"\nversion = "0.20.3"\n\n'
        '[[package]]\nname = "pyo3-ffi"\nversion = "0.20.3"\n'
    )
    assert locked_pyo3_version(member) == (0, 20, 3)
    (member / "Cargo.lock").write_text('[[package]]\nname = "pyo3"\nversion = "0.30.1"\n')
    assert locked_pyo3_version(member) == (0, 30, 1)
    (member / "Cargo.lock").write_text("not toml [")
    assert locked_pyo3_version(member) is None
