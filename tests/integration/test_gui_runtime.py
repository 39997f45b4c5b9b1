"""The gui sample on the portable runtime: Tcl, Tk and Xlib inside its _tkinter, so the
bundle runs on Debian 11 (glibc 2.31) where no Python, Tcl/Tk or X library is installed.

samples/gui is built against the runtime (its program linked with zig for glibc 2.17),
bundled as a .deb and as a onefile program, run over a minimal bullseye root and driven
through a virtual X screen as test_gui.py does: the button clicked with xdotool, the
Rust result read off the screen with OCR and from the window's title.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, BundleRequest, ContentOptions, ObtainOptions, bundle
from packager.core.context import Context
from packager.python.portable import Runtime
from packager.verify.gui import gui_session
from packager.verify.roots import debian_root
from tests.helpers import CARGO_TARGET_DIR, SAMPLES, cargo_env, run_packager
from tests.integration.test_gui import (
    APP_DIR,
    RESULT,
    TITLE,
    click_compute,
    keep_screenshot,
    read_screen,
)
from tests.portable_helpers import built_runtime, elf_files, objdump_floor

pytestmark = pytest.mark.integration

# What _tkinter may load from the system: glibc's own libraries, nothing else.
GLIBC_LIBRARIES = ("libc.so", "libm.so", "libpthread.so", "libdl.so")


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    for tool in ("cargo", "bwrap", "objdump", "Xvfb", "xdotool", "tesseract"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (tests/run.sh installs it)")
    return built_runtime("3.11")


def _cargo_environ() -> dict[str, str]:
    # Its own target directory: another interpreter's config would rebuild the suite's PyO3.
    return cargo_env(CARGO_TARGET_DIR=str(CARGO_TARGET_DIR.parent / "test-cargo-runtime"))


@pytest.fixture(scope="module")
def gui_deb(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/gui bundled as a .deb on the runtime, its app folder with it."""
    request = BundleRequest(
        str(SAMPLES / "gui"),
        out_dir=str(tmp_path_factory.mktemp("gui-runtime")),
        formats=(BundleFormat.DIR, BundleFormat.DEB),
        content=ContentOptions(app_dir=str(APP_DIR)),
        obtain=ObtainOptions(mode="dynamic", python=runtime.executable),
    )
    run = bundle(request, Context(environ=_cargo_environ()))
    assert run.manifest is not None
    assert "tkinter" in run.manifest.kept
    paths = {output.format: Path(output.path) for output in run.manifest.outputs}
    return paths[BundleFormat.DEB]


def test_the_runtime_has_tkinter_with_tcl_tk_and_xlib_inside(runtime: Runtime) -> None:
    prefix = Path(runtime.prefix)
    (module,) = glob.glob(str(prefix / "lib/python3.11/lib-dynload/_tkinter.cpython-311-*.so"))
    assert (prefix / "lib/tcl8.6/init.tcl").is_file() and (prefix / "lib/tk8.6/tk.tcl").is_file()
    headers = subprocess.run(["objdump", "-p", module], capture_output=True, text=True, check=True)
    needed = [line.split()[-1] for line in headers.stdout.splitlines() if "NEEDED" in line]
    assert needed and all(name.startswith(GLIBC_LIBRARIES) for name in needed), needed


def test_every_elf_file_of_the_deb_stays_within_glibc_2_17(gui_deb: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", str(gui_deb), str(tree)], check=True)
    floors = {path.name: objdump_floor(path) for path in elf_files(str(tree))}
    assert any(name.startswith("_tkinter") for name in floors)
    assert {name: floor for name, floor in floors.items() if floor and floor > (2, 17)} == {}


def _click_on_bullseye(subject: Path, screenshot: Path) -> tuple[str, bool, bool]:
    """Run `subject` over the bullseye minbase root on a virtual screen and click Compute
    once its window shows: (the window's title then, whether OCR reads the result on the
    screen, whether it still reads the prompt)."""
    root = debian_root("bullseye", Context(environ=dict(os.environ)))
    for pattern in ("usr/bin/python3*", "usr/lib/*/libtk8*", "usr/lib/*/libX11.so*"):
        assert not glob.glob(os.path.join(root, pattern)), f"{pattern} is in {root}"
    with gui_session(
        str(subject), environ=dict(os.environ), window_title=TITLE, root=root
    ) as session:
        title = click_compute(session)
        seen = read_screen(keep_screenshot(session, screenshot))
    return title, "832040" in seen, "press Compute" in seen


def test_the_deb_opens_its_window_on_bullseye_with_nothing_installed(
    gui_deb: Path, tmp_path: Path
) -> None:
    seen = _click_on_bullseye(gui_deb, tmp_path / "gui-runtime-deb-bullseye.png")
    assert seen == (f"{TITLE}: {RESULT}", True, False)


@pytest.fixture(scope="module")
def gui_onefile(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/gui as one static program on the runtime, Tcl/Tk and its app inside."""
    request = BundleRequest(
        str(SAMPLES / "gui"),
        out_dir=str(tmp_path_factory.mktemp("gui-runtime-onefile")),
        onefile=True,
        content=ContentOptions(app_dir=str(APP_DIR), keep=("tkinter",)),
        obtain=ObtainOptions(python=runtime.executable),
    )
    run = bundle(request, Context(environ=_cargo_environ()))
    assert run.onefile is not None
    return Path(run.onefile.path)


def test_the_onefile_program_opens_its_window_on_bullseye_with_nothing_installed(
    gui_onefile: Path, tmp_path: Path
) -> None:
    seen = _click_on_bullseye(gui_onefile, tmp_path / "gui-runtime-onefile-bullseye.png")
    assert seen == (f"{TITLE}: {RESULT}", True, False)


def test_the_onefile_program_copies_tcl_tk_into_the_users_cache_once(
    gui_onefile: Path, tmp_path: Path
) -> None:
    # Without a display Tk stops at tkinter.Tk(), after `import tkinter` made the copy.
    cache = tmp_path / "cache"
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(cache)}
    for _ in range(2):
        run = subprocess.run(
            [str(gui_onefile)], env=environ, capture_output=True, text=True, timeout=120
        )
        assert "no display name" in run.stderr, run.stderr
    (copy,) = (cache / "packager" / "onefile-tcltk").iterdir()
    assert sorted(path.name for path in copy.iterdir()) == [".complete", "fonts", "tcl8.6", "tk8.6"]
    assert (copy / "tcl8.6" / "init.tcl").is_file() and (copy / "tk8.6" / "tk.tcl").is_file()


@pytest.fixture(scope="module")
def gui_aarch64(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/gui as an aarch64 folder, on the aarch64 runtime (taken with no argument
    beyond the target)."""
    out = tmp_path_factory.mktemp("gui-aarch64")
    result = run_packager(
        "bundle", str(SAMPLES / "gui"), "--target", "aarch64-unknown-linux-gnu",
        "--app-dir", str(APP_DIR), "--out", str(out), environ=cargo_env(), timeout=2400,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "gui"


def test_the_aarch64_folder_opens_its_window_under_qemu_on_bullseye(
    gui_aarch64: Path, tmp_path: Path
) -> None:
    seen = _click_on_bullseye(gui_aarch64, tmp_path / "gui-runtime-aarch64-bullseye.png")
    assert seen == (f"{TITLE}: {RESULT}", True, False)
