"""The bundle pipeline refuses options its layout cannot honour, before any work starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from packager.bundle.rpaths import portable_entries
from packager.core.errors import UsageError
from packager.crate.appmeta import check_version
from tests.helpers import SAMPLES, run_packager

HELLO = str(SAMPLES / "hello")
AARCH64 = "aarch64-unknown-linux-gnu"
WINDOWS = "x86_64-pc-windows-gnu"

# (arguments after `bundle`, words the one-line error must contain)
REFUSED = [
    (["--onefile", "--format", "deb", HELLO], ["--format", "--onefile"]),
    (["--onefile", "--export-env", HELLO], ["--export-env", "--onefile"]),
    (["--onefile", "--stdlib-sources", HELLO], ["--stdlib-sources", "--onefile"]),
    (["--onefile", "--mode", "dynamic", HELLO], ["--mode", "--onefile"]),
    (["--onefile", "--version", "1.0", HELLO], ["--version", "--onefile"]),
    (["--onefile", "--python-home", "/tmp", HELLO], ["--python-home", "add --target"]),
    (["--only-needed", "--stdlib-sources", HELLO], ["--only-needed", "--stdlib-sources"]),
    (["--target", WINDOWS, "--only-needed", HELLO], ["--only-needed", "Linux folders"]),
    (["--site", "/tmp", HELLO], ["--site", "--onefile only"]),
    (["--no-compress", HELLO], ["--no-compress", "--onefile only"]),
    (["--no-library-cache", HELLO], ["--no-library-cache", "--onefile only"]),
    (["--onefile", "--script", "app/main.py", HELLO], ["--script", "--only-needed"]),
    (["--python-home", "/tmp", HELLO], ["--python-home", "add --target"]),
    (["--python-home", "/tmp", sys.executable], ["--python-home", "this machine's"]),
    (["--target", AARCH64, "--requirements", __file__, HELLO], ["--requirements", AARCH64]),
    (["--target", AARCH64, "--verify-on", "bookworm", HELLO], ["--verify-on", "qemu-user"]),
    (["--onefile", "--target", WINDOWS, HELLO], ["--onefile", "Windows target"]),
    (["--mode", "static", sys.executable], ["--mode", "built binary"]),
    (["--version", "1.0", HELLO], ["--version", "--format installer,deb"]),
    (["--icon", "/nonexistent.png", HELLO], ["--icon", "installers"]),
    (["--onefile", "--publisher", "Me", HELLO], ["--publisher", "--onefile"]),
    (["--format", "deb", "--icon", "/nonexistent.png", HELLO], ["--icon", "cannot read"]),
    (["--format", "deb", "--icon", sys.executable, HELLO], ["--icon", "not a PNG"]),
    (["--format", "deb", "--upgrade-code", "nope", HELLO], ["nope", "GUID"]),
    (["--format", "deb", "--homepage", "ftp://x", HELLO], ["homepage", "URL"]),
    (["--format", "deb", "--category", "Fun", HELLO], ["Fun", "main menu category"]),
    (["--format", "deb", "--publisher", "a\x1bb", HELLO], ["publisher", "control"]),
    (["--format", "deb", "--version", "1.0\nDepends: evil", HELLO], ["--version", "package"]),
    (["--format", "deb", "--version", "x y", HELLO], ["--version", "package"]),
    (["--format", "deb", "--version", "", HELLO], ["--version", "package"]),
    (["--name", "a/b", HELLO], ["'a/b' cannot name a bundle"]),
    (["--app-dir", "/proc/self/fd", HELLO], ["--app-dir", "/proc/self/fd"]),
]


@pytest.mark.parametrize(("arguments", "words"), REFUSED)
def test_options_the_layout_cannot_honour_are_refused_before_any_work(
    arguments: list[str], words: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_packager("bundle", "--out", str(out), *arguments, timeout=60)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip()
    assert error.startswith("packager: error: "), error
    assert all(word in error for word in words), error
    assert "Traceback" not in error
    assert "building" not in error and not out.exists()  # refused before the build


@pytest.mark.parametrize("separator", [":", ";"])
def test_an_output_path_with_a_search_path_separator_is_refused(
    separator: str, tmp_path: Path
) -> None:
    out = tmp_path / f"dist{separator}x"
    result = run_packager("bundle", "--out", str(out), HELLO, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"'{separator}'" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_versions_that_packages_accept() -> None:
    for version in ("1.0", "0.0.0", "2:1.2.3-1", "1.2~rc1+dfsg-3"):
        check_version(version)
    for version in ("v1", "1.0 beta", "1.0\n", "-1", "1..0/2", "1.0-"):
        with pytest.raises(UsageError):
            check_version(version)


def test_only_origin_based_run_path_entries_are_portable() -> None:
    entries = ["$ORIGIN/../lib", "/opt/python-3.11/lib", "${ORIGIN}", "lib", ""]
    assert portable_entries(entries) == ("$ORIGIN/../lib", "${ORIGIN}")
