"""tkinter in bundles: when it is kept, what the launcher sets, how GUI verify finds windows."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packager.bundle.tcltk import (
    has_tkinter,
    parse_tcl_answer,
    require_tkinter,
)
from packager.core.errors import ToolError, UsageError
from packager.outputs.launchers import posix_launcher
from packager.verify.gui import gui_tools, name_pattern


def test_a_kept_tkinter_needs_the_extension_module(tmp_path: Path) -> None:
    dynload = tmp_path / "lib-dynload"
    dynload.mkdir()
    (dynload / "_json.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert not has_tkinter(str(dynload))
    with pytest.raises(UsageError, match="no _tkinter extension module") as caught:
        require_tkinter(str(dynload), str(tmp_path))
    assert caught.value.fix and "python3-tk" in caught.value.fix
    (dynload / "_tkinter.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert has_tkinter(str(dynload))
    require_tkinter(str(dynload), str(tmp_path))


def test_what_tcl_answers_is_parsed_strictly() -> None:
    assert parse_tcl_answer("/usr/share/tcltk/tcl8.6\n8.6\n") == ("/usr/share/tcltk/tcl8.6", "8.6")
    for bad in ("", "relative/tcl8.6\n8.6\n", "/usr/share/tcltk/tcl8.6\n", "/a\nx.y\n"):
        with pytest.raises(ValueError):
            parse_tcl_answer(bad)


def run_launcher_env(tmp_path: Path, text: str) -> dict[str, str]:
    """Run `text` as a bundle's launcher whose binary prints its environment."""
    bundle = tmp_path / "my app"
    (bundle / "bin").mkdir(parents=True)
    (bundle / "bin" / "app").write_text("#!/bin/sh\nexec env\n")
    (bundle / "bin" / "app").chmod(0o755)
    (bundle / "app").write_text(text)
    (bundle / "app").chmod(0o755)
    out = subprocess.run(
        [str(bundle / "app")],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "TCL_LIBRARY": "/elsewhere/tcl8.6"},
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_the_launcher_points_tcl_at_the_bundle_only_when_it_ships_tcl(tmp_path: Path) -> None:
    shipped = posix_launcher(
        "app",
        "bin/app",
        set_library_path=False,
        export_env=False,
        tcl_tk=("lib/tcl8.6", "lib/tk8.6", "lib/fonts/fonts.conf"),
    )
    seen = run_launcher_env(tmp_path / "a", shipped)
    bundle = tmp_path / "a" / "my app"
    assert seen["TCL_LIBRARY"] == f"{bundle}/lib/tcl8.6"
    assert seen["TK_LIBRARY"] == f"{bundle}/lib/tk8.6"
    assert seen["FONTCONFIG_FILE"] == f"{bundle}/lib/fonts/fonts.conf"
    plain = posix_launcher("app", "bin/app", set_library_path=False, export_env=False)
    seen = run_launcher_env(tmp_path / "b", plain)
    assert seen["TCL_LIBRARY"] == "/elsewhere/tcl8.6"  # left as the caller set it
    assert "TK_LIBRARY" not in seen and "FONTCONFIG_FILE" not in seen


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1))
def test_a_window_title_is_matched_literally(title: str) -> None:
    # xdotool compiles the pattern as a POSIX extended regex; Python's re agrees with ERE
    # on backslash-escaped specials, so the escaped title matches itself, and only as text.
    pattern = name_pattern(title)
    assert re.search(pattern, f"prefix {title} suffix")
    assert name_pattern(None) == "."


def test_missing_x_tools_are_named_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="'Xvfb' was not found") as caught:
        gui_tools({"PATH": str(tmp_path)})
    assert caught.value.fix and "apt-get install xvfb" in caught.value.fix
