"""An aarch64 target with nothing gathered by hand: packager makes the target's root.

With no --python-home, `bundle --target aarch64-unknown-linux-gnu` builds against the
Debian arm64 root packager makes in its cache, ships that root's libpython and stdlib,
and verifies under qemu with its C library; `packager verify` of the archive needs no
--sysroot either. The cache starts empty: the root is fetched as a user's first run would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import SAMPLES, cargo_env, run_packager

pytestmark = pytest.mark.integration

TARGET = "aarch64-unknown-linux-gnu"
HELLO_LINES = [
    '{"hello": "world", "version": [3, 11, 2]}',
    "hello, packager, from Rust",
    "2 + 3 = 5",
]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """samples/hello bundled for aarch64 with an empty cache: (out, environ)."""
    work = tmp_path_factory.mktemp("aarch64-root")
    environ = cargo_env(XDG_CACHE_HOME=str(work / "cache"))
    completed = run_packager(
        "bundle", str(SAMPLES / "hello"), "--target", TARGET, "--format", "dir,tar.zst",
        "--out", str(work / "out"), "--verify", "--json", environ=environ,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    verified = json.loads(completed.stdout)["verified"]
    assert [result["stdout"].splitlines()[1:] for result in verified] == [HELLO_LINES] * 2
    return work / "out", environ


def test_the_root_is_made_in_the_cache(made: tuple[Path, dict[str, str]]) -> None:
    _out, environ = made
    roots = list(Path(environ["XDG_CACHE_HOME"]).glob("packager/target-roots/debian-*-arm64-*"))
    assert len(roots) == 1
    assert (roots[0] / "usr/lib/aarch64-linux-gnu/libpython3.11.so.1.0").is_file()


def test_packager_verify_needs_no_sysroot(made: tuple[Path, dict[str, str]]) -> None:
    out, environ = made
    completed = run_packager("verify", "--json", str(out / "hello.tar.zst"), environ=environ)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert json.loads(completed.stdout)["verify"]["stdout"].splitlines()[1:] == HELLO_LINES
