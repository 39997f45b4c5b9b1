"""Cross builds for x86_64-pc-windows-gnu: the samples built, bundled and run under wine.

The Windows CPython comes from tests/integration/windows_helpers.py.
Each sample is built with `build --target`, bundled as a folder and a zip, and verified:
wine runs the launcher in a copy of a clean prefix where no Python is installed and the
host's files are out of reach.
"""

from __future__ import annotations

import sys
import time
import zipfile
from pathlib import Path

import pytest

from packager.binary.inspect import inspect_paths
from packager.binary.model import BinaryFormat
from packager.bundle import BundleFormat, BundleRequest, ContentOptions, bundle
from packager.bundle.options import ObtainOptions
from packager.core.context import Context, cache_root
from packager.crate.cross_build import build_for_target, target_config
from packager.targets import cross_target
from packager.verify.model import VerifyResult
from tests.helpers import CARGO_TARGET_DIR, REPO, SAMPLES, pyo3_cross_config
from tests.integration.windows_helpers import (
    PYTHON_VERSION,
    TARGET,
    assert_hello_output,
    run_tool,
)

pytestmark = pytest.mark.integration


def _bundle(
    sample: str,
    out: Path,
    environ: dict[str, str],
    home: Path,
    app_dir: Path | None = None,
    crate: Path | None = None,
) -> list[VerifyResult]:
    started = time.monotonic()
    run = bundle(
        BundleRequest(
            str(crate or SAMPLES / sample),
            out_dir=str(out),
            formats=(BundleFormat.DIR, BundleFormat.ZIP),
            obtain=ObtainOptions(target=TARGET),
            content=ContentOptions(
                python_home=str(home), app_dir=str(app_dir) if app_dir else None
            ),
            verify=True,
        ),
        Context(environ=environ),
    )
    print(
        f"{sample}: built for {TARGET}, bundled and verified in {time.monotonic() - started:.1f} s"
    )
    assert run.manifest is not None
    assert [output.format for output in run.manifest.outputs if output.format] == [
        BundleFormat.DIR,
        BundleFormat.ZIP,
    ]
    assert len(run.verified) == 2
    return list(run.verified)


def _lines(result: VerifyResult) -> list[str]:
    return result.stdout.splitlines()


def test_config_is_the_one_pyo3_derives(windows_home: Path, tmp_path: Path) -> None:
    """`config --target` writes what PYO3_PRINT_CONFIG shows under PYO3_CROSS_LIB_DIR."""
    target = cross_target(TARGET)
    printed = pyo3_cross_config(TARGET, windows_home, tmp_path)
    assert target_config(target, python_home=str(windows_home)).config == printed


def test_hello_runs_under_wine_with_its_module(
    windows_home: Path, cross_environ: dict[str, str], tmp_path: Path
) -> None:
    verified = _bundle("hello", tmp_path, cross_environ, windows_home)
    for result in verified:
        assert result.returncode == 0, result.stdout + result.stderr
        assert_hello_output(result.stdout)
        assert result.sandbox_path == "C:\\packager verify"
    zipped = zipfile.ZipFile(tmp_path / "hello.zip").namelist()
    assert "hello/python311.dll" in zipped and "hello/python311.zip" in zipped
    assert "hello/DLLs/_decimal.pyd" in zipped and "hello/vcruntime140.dll" in zipped
    assert not [name for name in zipped if name.endswith(("._pth", "bcryptprimitives.dll"))]


def test_verify_compiles_the_dll_wine_lacks_into_the_prefix_only(
    windows_home: Path, cross_environ: dict[str, str], tmp_path: Path
) -> None:
    verified = _bundle("hello", tmp_path / "out", cross_environ, windows_home)
    assert [result.returncode for result in verified] == [0, 0]
    for result in verified:
        assert len(result.notes) == 1 and "bcryptprimitives.dll" in result.notes[0]
    cache = Path(cache_root(cross_environ) or "")
    assert list(cache.glob("wine/stand-ins/*/bcryptprimitives.dll"))
    assert not list((tmp_path / "out").rglob("bcryptprimitives.dll"))


def test_verify_takes_the_dll_a_user_names_instead(
    windows_home: Path, cross_environ: dict[str, str], given_stand_in: Path, tmp_path: Path
) -> None:
    from packager.verify.sandbox import verify_bundle
    from packager.verify.wine import SYSTEM_DLLS_VARIABLE

    _bundle("hello", tmp_path, cross_environ, windows_home)
    environ = {**cross_environ, SYSTEM_DLLS_VARIABLE: str(given_stand_in)}
    result = verify_bundle(str(tmp_path / "hello"), environ=environ)
    assert (result.returncode, result.notes) == (0, ()), result.stdout + result.stderr
    assert_hello_output(result.stdout)


def test_extmods_imports_pyd_modules_and_passes_arguments_and_exit_codes(
    windows_home: Path, cross_environ: dict[str, str], tmp_path: Path
) -> None:
    # A Windows markupsafe wheel in the bundle's app\ folder: the .pyd of a real wheel.
    site = tmp_path / "app"
    wheels = tmp_path / "wheels"
    run_tool([
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--platform", "win_amd64", "--python-version", "3.11", "--dest", str(wheels),
        "markupsafe",
    ])  # fmt: skip
    for wheel in wheels.glob("*.whl"):
        zipfile.ZipFile(wheel).extractall(site)
    out = tmp_path / "out"
    _bundle("extmods", out, cross_environ, windows_home, app_dir=site)
    bundle_dir = out / "extmods"
    from packager.verify.sandbox import verify_bundle

    app = "C:\\packager verify\\extmods\\app"
    for subject in (bundle_dir, out / "extmods.zip"):
        good = verify_bundle(str(subject), [app], environ=cross_environ)
        assert good.returncode == 0, good.stdout + good.stderr
        lines = _lines(good)
        assert lines[:2] == [f"python {PYTHON_VERSION} (64-bit)", "decimal 3.30"]
        imported = {line.split()[1]: line.split(" from ", 1)[1] for line in lines[2:]}
        assert imported["_decimal"] == "C:\\packager verify\\extmods\\DLLs\\_decimal.pyd"
        assert imported["markupsafe._speedups"].startswith(app + "\\markupsafe\\_speedups.")
        assert imported["markupsafe._speedups"].endswith(".pyd")
    # An argument naming an empty folder: the script exits 1 naming the failed import.
    missing = verify_bundle(str(bundle_dir), ["C:\\nowhere at all"], environ=cross_environ)
    assert missing.returncode == 1
    assert "could not import: markupsafe._speedups" in missing.stderr


@pytest.fixture(scope="module")
def guideapp_runs(
    windows_home: Path, cross_environ: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> list[VerifyResult]:
    """tests/crates/guideapp bundled for Windows (folder and zip), each run under wine."""
    crate = REPO / "tests" / "crates" / "guideapp"
    out = tmp_path_factory.mktemp("guideapp-windows")
    return _bundle("guideapp", out, cross_environ, windows_home, crate=crate)


def test_guideapp_in_the_guides_style_runs_under_wine(guideapp_runs: list[VerifyResult]) -> None:
    for result in guideapp_runs:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_guideapp_output_reaches_a_pipe_under_wine(guideapp_runs: list[VerifyResult]) -> None:
    for result in guideapp_runs:
        assert _lines(result) == [
            "hello, guide, from Rust",
            "decimal 3.30",
            "prefix C:\\packager verify\\guideapp",
        ]


@pytest.mark.parametrize("sample", ["hello", "extmods"])
def test_inspect_reads_the_windows_build(
    sample: str, windows_home: Path, cross_environ: dict[str, str]
) -> None:
    outcome = build_for_target(
        SAMPLES / sample, target=TARGET, environ=cross_environ, python_home=str(windows_home),
        release=True,
    )  # fmt: skip
    assert outcome.binaries == (str(CARGO_TARGET_DIR / TARGET / "release" / f"{sample}.exe"),)
    assert not [f for r in outcome.check.binaries for f in r.findings], outcome.check
    [report] = inspect_paths(list(outcome.binaries), environ={}, jobs=1).binaries
    assert (report.format, report.arch) == (BinaryFormat.PE, "x86_64")
    assert report.libpython is not None and report.libpython.name == "python311.dll"
    assert report.symbols.pyinit == (f"PyInit_{sample}_native",)
