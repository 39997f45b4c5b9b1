"""Apps built on the portable runtime run on Debian 11 (glibc 2.31) with nothing installed.

Each app is built against the runtime (dynamic, static, and as one file), so its program
is linked with zig for the runtime's glibc floor; bundled; and run over a minimal bullseye
root made by debootstrap. Every ELF file the outputs ship is read with objdump: none asks
for a glibc symbol newer than 2.17.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from packager.bundle import (
    BundleFormat,
    BundleRequest,
    BundleRun,
    ContentOptions,
    ObtainOptions,
    bundle,
    verify_bundle,
)
from packager.core.context import Context
from packager.python.portable import Runtime
from packager.verify.roots import debian_root
from tests.helpers import CARGO_TARGET_DIR, REPO, SAMPLES, cargo_env, run_packager
from tests.integration.bundle_helpers import EXPECTED_LINES
from tests.integration.test_floor_apps import EXPECTED, app_lines, write_app
from tests.portable_helpers import built_runtime, elf_files, objdump_floor

pytestmark = pytest.mark.integration

FLOOR = (2, 17)
CWDSCRIPT = str(REPO / "tests" / "crates" / "cwdscript")
NUMPY_APP = """\
import numpy as np
a = np.arange(12.0).reshape(3, 4)
print("numpy", round(float(np.linalg.norm(a @ a.T)), 3), np.linalg.inv(np.eye(3) * 2)[0, 0])
"""
MODES = ["dynamic", "static", "onefile"]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    for tool in ("cargo", "bwrap", "patchelf", "objdump"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    return built_runtime("3.11")


@pytest.fixture(scope="module")
def bullseye() -> str:
    return debian_root("bullseye", Context(environ=dict(os.environ)))


def _environ() -> dict[str, str]:
    # Its own target directory: another interpreter's config would rebuild the suite's PyO3.
    environ = cargo_env(CARGO_TARGET_DIR=str(CARGO_TARGET_DIR.parent / "test-cargo-runtime"))
    environ.pop("PYTHONUNBUFFERED", None)
    return environ


def _bundle(source: str, out: Path, runtime: Runtime, mode: str, **request: object) -> BundleRun:
    options: dict[str, object] = dict(request)
    if mode == "onefile":
        options |= {"onefile": True, "obtain": ObtainOptions(python=runtime.executable)}
    else:
        options |= {"obtain": ObtainOptions(mode=mode, python=runtime.executable)}
        options.setdefault("formats", (BundleFormat.DIR,))
    full = BundleRequest(source, out_dir=str(out), **options)  # type: ignore[arg-type]
    return bundle(full, Context(environ=_environ()))


def _subject(run: BundleRun) -> Path:
    if run.onefile is not None:
        return Path(run.onefile.path)
    assert run.manifest is not None
    return Path(next(o.path for o in run.manifest.outputs if o.format is BundleFormat.DIR))


def _assert_floor(run: BundleRun, runtime: Runtime) -> None:
    """What the pipeline measured and what objdump reads agree: nothing above 2.17."""
    subject = _subject(run)
    files = [subject] if subject.is_file() else list(elf_files(str(subject)))
    assert files
    over = {str(f): objdump_floor(f) for f in files if (objdump_floor(f) or (0, 0)) > FLOOR}
    assert over == {}, over
    if run.manifest is not None:
        assert run.manifest.runtime == runtime.selector
        assert run.manifest.glibc_floor == "2.17"


def _verify(run: BundleRun, root: str, cwd: str | None = None) -> list[str]:
    result = verify_bundle(str(_subject(run)), environ=_environ(), root=root, cwd=cwd)
    assert result.ok, (result.stdout, result.stderr)
    return result.stdout.splitlines()


@pytest.mark.parametrize("mode", MODES)
def test_hello_runs_on_bullseye(runtime: Runtime, bullseye: str, tmp_path: Path, mode: str) -> None:
    run = _bundle(str(SAMPLES / "hello"), tmp_path, runtime, mode)
    _assert_floor(run, runtime)
    lines = _verify(run, bullseye)
    assert lines[0].startswith("3.11.2 (main, Jan  1 1980")  # the runtime's build date
    assert all(line in lines for line in EXPECTED_LINES), lines


@pytest.mark.parametrize("mode", MODES)
def test_the_system_library_app_runs_on_bullseye(
    runtime: Runtime, bullseye: str, tmp_path: Path, mode: str
) -> None:
    (tmp_path / "app").mkdir()
    app = write_app(tmp_path / "app")
    if mode == "onefile":
        run = _bundle(CWDSCRIPT, tmp_path / "out", runtime, mode)
        lines = _verify(run, bullseye, cwd=str(app))
    else:
        content = ContentOptions(app_dir=str(app))
        run = _bundle(CWDSCRIPT, tmp_path / "out", runtime, mode, content=content, workdir="app")
        lines = _verify(run, bullseye)
    _assert_floor(run, runtime)
    assert app_lines("\n".join(lines)) == EXPECTED, lines


@pytest.mark.parametrize("mode", MODES)
def test_a_numpy_app_runs_on_bullseye(
    runtime: Runtime, bullseye: str, tmp_path: Path, mode: str
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "python_program.py").write_text(NUMPY_APP, encoding="utf-8")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy\n", encoding="utf-8")
    # The runtime has no pip: packager's own installs the wheels made for its floor.
    if mode == "onefile":
        content = ContentOptions(requirements=str(requirements))
        run = _bundle(CWDSCRIPT, tmp_path / "out", runtime, mode, content=content)
        lines = _verify(run, bullseye, cwd=str(app))
    else:
        content = ContentOptions(app_dir=str(app), requirements=str(requirements))
        run = _bundle(CWDSCRIPT, tmp_path / "out", runtime, mode, content=content, workdir="app")
        lines = _verify(run, bullseye)
    _assert_floor(run, runtime)
    assert "numpy 502.191 0.5" in lines, lines


def test_bundle_takes_a_portable_runtime_by_default_and_says_so(
    runtime: Runtime, tmp_path: Path
) -> None:
    done = run_packager(
        "bundle", str(SAMPLES / "hello"), "--out", str(tmp_path), environ=_environ(), timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "building against a portable runtime from the cache (--python runtime:" in done.stderr
    assert "(portable runtime, --python runtime:" in done.stdout  # the summary names it
    assert "glibc floor: 2.17" in done.stdout
