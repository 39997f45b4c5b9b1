"""The gui sample (tkinter + the crate's own #[pymodule]) bundled, installed where neither
Python nor Tcl/Tk is, and driven through a virtual X screen.

The app shows the Rust result in a label and mirrors it into its window title; the test
clicks the button with xdotool (a real pointer event through the X server's XTEST), then
reads the result twice: off the screen, with OCR (Debian's tesseract-ocr) on a screenshot,
and from the X server, with `xdotool getwindowname`. Each test keeps a PNG of the screen:
under its tmp_path, and copied to $PACKAGER_TEST_ARTIFACTS when that is set; the path is
printed.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from packager.bundle import (
    BundleFormat,
    BundleRequest,
    BundleRun,
    ContentOptions,
    ObtainOptions,
    bundle,
)
from packager.bundle.tcltk import ScriptLibraries, find_script_libraries
from packager.core.context import Context
from packager.crate.appmeta import MetadataOptions
from packager.crate.build import build_crate
from packager.verify.gui import GuiSession, gui_session
from packager.verify.roots import debian_root
from tests.helpers import REPO, SAMPLES, cargo_env, run_packager
from tests.integration.bundle_helpers import DEBIAN_PYTHON, bundle_environ
from tests.schemas import validate

APP_DIR = SAMPLES / "gui" / "app"
TITLE = "packager GUI sample"
RESULT = "fib(30) = 832040"
# The app's button fills the top half of its 480x240 window.
BUTTON = ("240", "60")


def bundle_gui(binary: Path, out: Path, **request: Any) -> BundleRun:
    """Run the bundle pipeline on the built gui sample, as `packager bundle BINARY` does."""
    return bundle(
        BundleRequest(str(binary), out_dir=str(out), **request),
        Context(environ=bundle_environ()),
    )


@pytest.fixture(scope="module")
def gui_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """samples/gui built against Debian's shared libpython3.11 and bundled with its app
    folder as a folder and a .deb (tkinter is kept because app/main.py imports it)."""
    outcome = build_crate(
        SAMPLES / "gui", environ=cargo_env(), mode="dynamic", python=DEBIAN_PYTHON
    )
    binary = tmp_path_factory.mktemp("gui-bin") / "gui"
    shutil.copy2(outcome.binaries[0], binary)
    run = bundle_gui(
        binary,
        tmp_path_factory.mktemp("gui-out"),
        formats=(BundleFormat.DIR, BundleFormat.DEB),
        content=ContentOptions(app_dir=str(APP_DIR)),
    )
    assert run.manifest is not None
    assert "tkinter" in run.manifest.kept
    assert "tkinter kept: app/main.py imports tkinter" in run.manifest.notes
    paths = {output.format: Path(output.path) for output in run.manifest.outputs}
    return {"dir": paths[BundleFormat.DIR], "deb": paths[BundleFormat.DEB], "binary": binary}


def keep_artifact(path: Path) -> Path:
    """Copy the screenshot `path` to $PACKAGER_TEST_ARTIFACTS if set; print where it is."""
    artifacts = os.environ.get("PACKAGER_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy2(path, os.path.join(artifacts, path.name))
    print(f"screenshot: {path}" + (f" (and in {artifacts})" if artifacts else ""))
    return path


def keep_screenshot(session: GuiSession, path: Path) -> Path:
    """Photograph the screen to `path` and keep it as an artifact."""
    session.screenshot(str(path))
    return keep_artifact(path)


def colours(png: Path) -> int:
    """How many distinct colours the image has (ImageMagick): 1 for a blank screen."""
    result = subprocess.run(
        ["convert", str(png), "-format", "%k", "info:"], capture_output=True, text=True, check=True
    )
    return int(result.stdout.strip())


def read_screen(png: Path) -> str:
    """The text OCR reads on the screenshot `png`, its whitespace collapsed."""
    result = subprocess.run(
        ["tesseract", str(png), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(result.stdout.split())


def xdotool(session: GuiSession, *args: str) -> str:
    result = subprocess.run(
        ["xdotool", *args], env=session.x_environ, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def click_compute(session: GuiSession) -> str:
    """Click the app's button; its window's title once the result shows (30 s at most)."""
    xdotool(session, "mousemove", "--window", session.window, *BUTTON, "click", "1")
    deadline = time.monotonic() + 30
    while RESULT not in session.window_name() and time.monotonic() < deadline:
        time.sleep(0.2)
    return session.window_name()


def test_the_tree_ships_tkinter_tcl_tk_and_a_font(gui_outputs: dict[str, Path]) -> None:
    tree = gui_outputs["dir"]
    assert glob.glob(str(tree / "lib/python3.11/lib-dynload/_tkinter.cpython-311-*.so"))
    assert (tree / "lib/tcl8.6/init.tcl").is_file()
    assert (tree / "lib/tk8.6/tk.tcl").is_file()
    for library in ("libtcl8.6.so", "libtk8.6.so", "libXft.so.2", "libfontconfig.so.1"):
        assert (tree / "lib" / library).is_file(), library
    assert (tree / "lib/fonts/fonts.conf").is_file()
    assert [path.suffix for path in (tree / "lib/fonts").iterdir()].count(".ttf") == 1
    launcher = (tree / "gui").read_text()
    assert "tcl_library=lib/tcl8.6" in launcher and "tk_library=lib/tk8.6" in launcher


def test_keep_tkinter_ships_tcl_tk_without_an_app_folder(
    gui_outputs: dict[str, Path], tmp_path: Path
) -> None:
    run = bundle_gui(gui_outputs["binary"], tmp_path, content=ContentOptions(keep=("tkinter",)))
    assert run.manifest is not None and run.manifest.kept == ("tkinter",)
    assert not [note for note in run.manifest.notes if "tkinter" in note]
    tree = tmp_path / "gui"
    assert (tree / "lib/tcl8.6/init.tcl").is_file() and (tree / "lib/tk8.6/tk.tcl").is_file()
    assert "libtk8.6.so" in run.manifest.vendored


def test_without_tkinter_nothing_of_tcl_tk_is_shipped(
    gui_outputs: dict[str, Path], tmp_path: Path
) -> None:
    run = bundle_gui(gui_outputs["binary"], tmp_path)
    assert run.manifest is not None and "tkinter" in run.manifest.trimmed
    tree = tmp_path / "gui"
    assert not (tree / "lib/tcl8.6").exists() and not (tree / "lib/fonts").exists()
    assert not [name for name in run.manifest.vendored if "tk" in name or "X11" in name]
    assert "tcl_library=''" in (tree / "gui").read_text()


def test_bundle_verify_waits_for_a_gui_apps_window(
    gui_outputs: dict[str, Path], tmp_path: Path
) -> None:
    # A GUI app (--gui) is verified on a virtual screen: its window showing is success;
    # run to its exit without a display, Tk would fail ("no display name").
    run = bundle_gui(
        gui_outputs["binary"],
        tmp_path,
        formats=(BundleFormat.DIR, BundleFormat.DEB),
        content=ContentOptions(app_dir=str(APP_DIR)),
        metadata=MetadataOptions(gui=True),
        verify_on=("bookworm",),
    )
    assert [result.returncode for result in run.verified] == [0, 0]
    for result in run.verified:
        assert result.stdout == f"window shown: {TITLE}\n"
        assert result.root.endswith("debian-bookworm-minbase")


def test_bin_run_without_the_launcher_takes_the_bundles_tcl_tk(
    gui_outputs: dict[str, Path], tmp_path: Path
) -> None:
    # packager's start-up code sets what the launcher would; this host has Tcl/Tk in
    # /usr/share/tcltk, which Tcl would take otherwise.
    tree = tmp_path / "gui"
    shutil.copytree(gui_outputs["dir"], tree, symlinks=True)
    (tree / "app" / "main.py").write_text(
        "import os, tkinter\n"
        "print(tkinter.Tcl().eval('info library'))\n"
        "print(os.environ['TK_LIBRARY'])\n"
        "print(os.environ['FONTCONFIG_FILE'])\n"
    )
    result = subprocess.run(
        [str(tree / "bin" / "gui")],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    real = os.path.realpath(tree)
    expected = [f"{real}/lib/tcl8.6", f"{real}/lib/tk8.6", f"{real}/lib/fonts/fonts.conf"]
    assert result.stdout.splitlines() == expected


def test_tcl_tells_where_its_script_libraries_are() -> None:
    found = find_script_libraries(DEBIAN_PYTHON, Context(environ=dict(os.environ)))
    assert found == ScriptLibraries("/usr/share/tcltk/tcl8.6", "/usr/share/tcltk/tk8.6")


def test_the_deb_runs_where_neither_python_nor_tk_is_installed(
    gui_outputs: dict[str, Path], tmp_path: Path
) -> None:
    root = debian_root("bookworm", Context(environ=dict(os.environ)))
    for pattern in (
        "usr/bin/python3*",
        "usr/lib/python3*",
        "usr/lib/*/libtk8*",
        "usr/lib/*/libtcl8*",
        "usr/share/tcltk",
        "usr/lib/*/libX11.so*",
        "etc/fonts",
    ):
        assert not glob.glob(os.path.join(root, pattern)), f"{pattern} is in {root}"
    # verify unpacks the .deb's tree (dpkg-deb -x) into the sandbox over the bare root.
    with gui_session(
        str(gui_outputs["deb"]), environ=dict(os.environ), window_title=TITLE, root=root
    ) as session:
        assert session.window in xdotool(session, "search", "--name", TITLE).split()
        assert session.window_name() == TITLE
        before = keep_screenshot(session, tmp_path / "gui-deb-bookworm-minbase-before.png")
        seen = read_screen(before)
        assert "Compute" in seen and "press Compute" in seen and "832040" not in seen, seen
        assert click_compute(session) == f"{TITLE}: {RESULT}"
        after = keep_screenshot(session, tmp_path / "gui-deb-bookworm-minbase.png")
    assert after.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    seen = read_screen(after)
    assert "832040" in seen and "press Compute" not in seen, seen


def run_verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "packager", "verify", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_verify_gui_writes_a_screenshot_of_the_folder_bundle(
    gui_outputs: dict[str, Path], tmp_path: Path
) -> None:
    shot = tmp_path / "gui-dir.png"
    result = run_verify(
        str(gui_outputs["dir"]), "--gui", "--screenshot", str(shot), "--window-title", TITLE
    )
    assert result.returncode == 0, result.stderr
    assert f"window: '{TITLE}'" in result.stdout
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert colours(shot) > 2
    keep_artifact(shot)


def test_verify_gui_json_follows_its_schema(gui_outputs: dict[str, Path]) -> None:
    result = run_verify(str(gui_outputs["dir"]), "--gui", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    validate(document, "verify-gui-v1.json")
    assert document["verify_gui"]["window_title"] is None  # any window
    assert document["verify_gui"]["window_name"] == TITLE
    assert document["verify_gui"]["screenshot"] is None


def test_verify_gui_fails_clearly_when_no_such_window_shows(
    gui_outputs: dict[str, Path], tmp_path: Path
) -> None:
    shot = tmp_path / "never.png"
    result = run_verify(
        str(gui_outputs["dir"]), "--gui", "--screenshot", str(shot),
        "--window-title", "no window has this title", "--timeout", "5",
    )  # fmt: skip
    assert result.returncode == 1
    assert "no window titled 'no window has this title' appeared within 5 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert not shot.exists()


def test_verify_gui_reports_a_program_that_exits_before_its_window(
    gui_outputs: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "gui"
    shutil.copytree(gui_outputs["dir"], broken, symlinks=True)
    shutil.rmtree(broken / "lib/tcl8.6")  # Tcl cannot start: the app exits with its error
    result = run_verify(str(broken), "--gui", "--window-title", TITLE, "--distro", "bookworm")
    assert result.returncode == 1
    assert "the program exited with status 1 before showing a window titled" in result.stderr
    assert "init.tcl" in result.stderr


def test_the_crates_deb_and_installer_carry_its_menu_entry_and_icon(tmp_path: Path) -> None:
    """Bundled from the crate: [package.metadata.packager] (gui, icon, display name) gives
    the .deb and the installer a menu entry that desktop-file-validate accepts."""
    run = bundle(
        BundleRequest(
            str(SAMPLES / "gui"),
            out_dir=str(tmp_path / "out"),
            formats=(BundleFormat.DEB, BundleFormat.INSTALLER),
            obtain=ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON),
            content=ContentOptions(app_dir=str(APP_DIR)),
        ),
        Context(environ=cargo_env()),
    )
    assert run.manifest is not None
    paths = {output.format: Path(output.path) for output in run.manifest.outputs}
    unpacked = tmp_path / "deb"
    subprocess.run(["dpkg-deb", "-x", str(paths[BundleFormat.DEB]), str(unpacked)], check=True)
    (entry,) = (unpacked / "usr" / "share" / "applications").glob("*.desktop")
    checked = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stdout == "", checked.stdout
    keys = dict(line.split("=", 1) for line in entry.read_text().splitlines()[1:])
    assert keys["Name"] == TITLE  # the crate's display-name
    assert keys["Terminal"] == "false" and keys["Exec"] == "/usr/bin/gui"
    assert list((unpacked / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps").iterdir())

    home = tmp_path / "home"
    home.mkdir()
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp_path)}
    subprocess.run(["sh", str(paths[BundleFormat.INSTALLER])], env=environ, check=True)
    applications = home / ".local" / "share" / "applications"
    (installed,) = applications.glob("*.desktop")
    checked = subprocess.run(["desktop-file-validate", str(installed)], capture_output=True)
    assert checked.returncode == 0 and checked.stdout == b""
    icons = list((home / ".local" / "share" / "icons" / "hicolor").rglob("*.png"))
    assert len(icons) == 1
    subprocess.run(["sh", str(home / ".local" / "opt" / "gui" / "uninstall")], check=True)
    assert not installed.exists() and not icons[0].exists()


def test_a_onefile_program_with_debians_tk_is_refused_naming_the_runtime(tmp_path: Path) -> None:
    # Debian's _tkinter loads libtk8.6.so and libtcl8.6.so: a onefile program can carry
    # Tcl/Tk only inside _tkinter, as the portable runtime builds it.
    out = tmp_path / "out"
    result = run_packager(
        "bundle", str(SAMPLES / "gui"), "--onefile", "--keep", "tkinter",
        "--python", DEBIAN_PYTHON, "--out", str(out),
        environ=cargo_env(), timeout=900,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "a onefile program carries Tcl/Tk only inside _tkinter" in result.stderr
    assert "--python runtime:3.11" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() or not list(out.iterdir())
