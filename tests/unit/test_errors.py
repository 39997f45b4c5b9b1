"""What an error says: the message, a failed tool's last words, then the fix."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from packager.core.atomic import Staging
from packager.core.cache import BUILDING_PREFIX
from packager.core.errors import OutputWriteError, ToolError, UsageError
from packager.crate.build import BuildFailed


def test_a_failed_tool_shows_its_last_lines_between_the_message_and_the_fix() -> None:
    output = "".join(f"line {n}\n" for n in range(1, 21)) + "\n   \n"
    text = str(ToolError("'cc' failed with exit code 1", output=output, fix="install it"))
    lines = text.splitlines()
    assert lines[0] == "'cc' failed with exit code 1"
    assert lines[1:-1] == [f"  | line {n}" for n in range(9, 21)]
    assert lines[-1] == "  fix: install it"


def test_an_error_without_output_is_its_message_and_fix() -> None:
    assert str(UsageError("bad", path="/x", fix="do y")) == "/x: bad\n  fix: do y"


def test_a_cargo_failure_leaves_its_output_to_the_build_command() -> None:
    failed = BuildFailed("cargo build failed", output="error: linking failed\n", returncode=101)
    assert "  | " not in str(failed)


def test_a_tool_that_fills_the_cache_is_named_as_the_cache(tmp_path: Path) -> None:
    # strip runs on the prepared runtime inside a cache entry being made, not in --out.
    entry = f"/cache/packager/runtime/{BUILDING_PREFIX}x1/lib/libpython3.11.so"
    failure = ToolError(
        f"'strip --strip-unneeded {entry}' failed with exit code 1",
        output=f"strip: {entry}: {os.strerror(errno.ENOSPC)}",
    )
    with pytest.raises(OutputWriteError) as raised, Staging(str(tmp_path)):
        raise failure
    assert raised.value.path == "/cache/packager/runtime"
    assert "in packager's cache (while writing lib/libpython3.11.so)" in str(raised.value)
