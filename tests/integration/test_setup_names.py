"""NSIS setup.exe with file names makensis would read as its own syntax.

makensis expands `$%VAR%` (the build machine's environment) and `${DEFINE}` in every
string and every path it reads while compiling, with no escape for them: a file (or
metadata) with one is refused before makensis runs, as is a name Windows cannot hold.
Every other `$` is kept: the installer carries files so named, written into an output
folder whose own name makensis would expand, under the names they have.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, BundleRequest, ContentOptions, bundle
from packager.bundle.options import ObtainOptions
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.verify.wine import fresh_prefix
from tests.helpers import SAMPLES, run_packager
from tests.integration.windows_helpers import TARGET

pytestmark = pytest.mark.integration

NAMES = ("a$b.txt", "$$2 $0 $INSTDIR.txt", "lang $(^Name).txt", "percent 100%.txt")
PROGRAMS = "AppData/Local/Programs"


def _setup(app: Path, out: Path, windows_home: Path, environ: dict[str, str]) -> Path:
    request = BundleRequest(
        str(SAMPLES / "hello"),
        out_dir=str(out),
        formats=(BundleFormat.SETUP,),
        obtain=ObtainOptions(target=TARGET),
        content=ContentOptions(python_home=str(windows_home), app_dir=str(app)),
    )
    run = bundle(request, Context(environ=environ))
    assert run.manifest is not None
    [setup] = [o.path for o in run.manifest.outputs if o.format is BundleFormat.SETUP]
    return Path(setup)


def test_files_named_like_makensis_syntax_install_under_their_names(
    windows_home: Path, cross_environ: dict[str, str], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    for name in NAMES:
        (app / name).write_text(name)
    setup = _setup(app, tmp_path / "out $%HOME%", windows_home, cross_environ)
    with fresh_prefix(cross_environ) as prefix:
        copied = Path(prefix.path, "drive_c", "setup.exe")
        copied.write_bytes(setup.read_bytes())
        installed = subprocess.run(
            [prefix.wine, "C:\\setup.exe", "/S"], env=dict(prefix.environ),
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        assert installed.returncode == 0, installed.stderr
        [user] = Path(prefix.path, "drive_c", "users").glob("*/" + PROGRAMS)
        folder = user / "hello" / "app"
        assert {p.name: p.read_text() for p in folder.iterdir()} == {n: n for n in NAMES}


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("back\\slash", "which a Windows file name cannot"),
        ("trailing dot.", "which a Windows file name cannot"),
        ("colon:name", "which a Windows file name cannot"),
        ("home $%HOME%.txt", "which makensis's preprocessor would expand"),
        ("define ${NSISDIR}.txt", "which makensis's preprocessor would expand"),
    ],
)
def test_a_name_the_installer_cannot_carry_is_refused(
    name: str, why: str, windows_home: Path, cross_environ: dict[str, str], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / name).write_text("x")
    with pytest.raises(UsageError, match=why) as caught:
        _setup(app, tmp_path / "out", windows_home, cross_environ)
    assert caught.value.path is not None and caught.value.path.endswith(name)


def test_metadata_makensis_would_expand_is_refused_before_the_build(tmp_path: Path) -> None:
    completed = run_packager(
        "bundle", str(SAMPLES / "hello"), "--target", TARGET, "--python", "3.11",
        "--format", "setup", "--display-name", "App $%SECRET_TOKEN%", "--out", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 2
    assert "makensis's preprocessor would expand" in completed.stderr
    assert "Compiling" not in completed.stderr
