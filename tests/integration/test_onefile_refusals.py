"""Onefile programs that cannot be made are refused before anything is written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from packager.core.errors import UsageError
from tests.helpers import cargo_env
from tests.integration.cbuild import DEBIAN_PIC_ARCHIVE, static_embed
from tests.integration.test_onefile import DEBIAN_PYTHON, _build, _require_tools, build_onefile


def test_a_program_that_does_not_embed_python_is_refused(tmp_path: Path) -> None:
    _require_tools()
    with pytest.raises(UsageError, match="link mode is none"):
        build_onefile(
            shutil.which("true") or "/bin/true", environ=cargo_env(), out=str(tmp_path / "x")
        )


def test_an_unknown_included_module_is_a_usage_error(tmp_path: Path) -> None:
    _require_tools()
    with pytest.raises(UsageError, match="module 'no_such_module' is not in the standard"):
        _build("hello", tmp_path / "hello", only_needed=True, include=["no_such_module"])
    assert not (tmp_path / "hello").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_static_program_without_the_start_up_code_is_refused(tmp_path: Path) -> None:
    _require_tools()
    if not os.path.exists(DEBIAN_PIC_ARCHIVE):
        pytest.fail("Debian's static libpython3.11-pic.a is not installed")
    program = static_embed(tmp_path / "embed", export_dynamic=True)
    with pytest.raises(UsageError, match=r"not built by `packager build`") as raised:
        build_onefile(
            str(program), environ=cargo_env(), out=str(tmp_path / "out"), python=DEBIAN_PYTHON
        )
    assert raised.value.fix is not None and "packager build --mode static" in raised.value.fix
    assert raised.value.path == str(program)
    assert not (tmp_path / "out").exists()

    # The hashes themselves are cross-checked by every build above: a program whose
    # BLAKE2b differed from hashlib's would refuse its own payload.
