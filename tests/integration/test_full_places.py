"""A full file system outside --out is named as itself, not as the output directory.

packager writes into its cache (a prepared runtime) and into the temporary directory
(dpkg-deb's and others' scratch files) as well as into --out. Each of them filled in turn
(a 4 MB tmpfs mounted there in a mount namespace of its own): the one error line names
the place that is full and how to give it room, and --out is left empty.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_bundle_output import DEBIAN_PYTHON, assert_one_line_error, cli_environ

pytestmark = pytest.mark.integration

_ON_TMPFS = 'mount -t tmpfs -o size="$1" tmpfs "$2" || exit 99\nshift 2\nexec "$@"\n'


def _bundle_with_full(
    variable: str, place: Path, out: Path, *args: str, size: str = "4m"
) -> subprocess.CompletedProcess[str]:
    """`packager bundle ARGS --out OUT` with `variable` naming `place`, a tmpfs of `size`
    that fills."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare is not installed (Debian: apt-get install util-linux)")
    namespace = [unshare, "-m"] if os.geteuid() == 0 else [unshare, "-r", "-m"]
    place.mkdir()
    out.mkdir()
    argv = [*namespace, "sh", "-c", _ON_TMPFS, "sh", size, str(place)]
    argv += [sys.executable, "-m", "packager", "bundle", *args, "--out", str(out)]
    environ = {**cli_environ(), variable: str(place)}
    completed = subprocess.run(
        argv, env=environ, capture_output=True, text=True, timeout=600, check=False
    )
    assert completed.returncode != 99, f"cannot mount a tmpfs: {completed.stderr}"
    return completed


def test_a_full_cache_is_named_as_the_cache(hello_binary: Path, tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    result = _bundle_with_full("XDG_CACHE_HOME", cache, out, str(hello_binary), *DEBIAN_PYTHON)
    line = assert_one_line_error(result, "no space left on device in packager's cache")
    assert (line.split(": ")[2], os.listdir(out)) == (f"{cache}/packager/runtime", [])
    assert "XDG_CACHE_HOME" in result.stderr  # the fix


def test_a_cache_that_fills_while_strip_writes_into_it_is_named_as_the_cache(
    hello_binary: Path, tmp_path: Path
) -> None:
    # 22 MB holds the compiled stdlib but not also strip's copy of libpython: the tool
    # that fails says only that the disk is full, and its command names the entry's file.
    cache, out = tmp_path / "cache", tmp_path / "out"
    result = _bundle_with_full(
        "XDG_CACHE_HOME", cache, out, str(hello_binary), *DEBIAN_PYTHON, size="22m"
    )
    line = assert_one_line_error(result, "no space left on device in packager's cache")
    assert (line.split(": ")[2], os.listdir(out)) == (f"{cache}/packager/runtime", [])


def test_a_full_temporary_directory_is_named_as_such(hello_binary: Path, tmp_path: Path) -> None:
    temp, out = tmp_path / "temp", tmp_path / "out"
    result = _bundle_with_full(
        "TMPDIR", temp, out, str(hello_binary), *DEBIAN_PYTHON, "--format", "deb"
    )
    line = assert_one_line_error(result, "no space left on device in the temporary directory")
    assert (line.split(": ")[2], os.listdir(out)) == (str(temp), [])
    assert "set TMPDIR" in result.stderr  # the fix
