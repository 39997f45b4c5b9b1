"""Tcl/Tk for tkinter apps: when tkinter is kept, and where the bundle carries Tcl and Tk.

tkinter is trimmed by default (TRIM_RULES). It is kept with `--keep tkinter`, or without
asking when a script of `--app-dir` imports it. A kept tkinter needs three things on a
system with no Tcl/Tk installed:

- `_tkinter` (lib-dynload), from the interpreter's installation (Debian: python3-tk);
- the Tcl and Tk shared libraries it links, and what they pull in beyond the manylinux
  allowlist (libXft, libfontconfig, libfreetype, libpng, libXss...): vendoring ships
  them like every other system library (vendor.py). The portable runtime's _tkinter has
  them all inside it;
- Tcl's and Tk's script libraries (init.tcl, tk.tcl, encodings...): copied from where
  the interpreter's own Tcl finds them (`info library`) to lib/tclX.Y and lib/tkX.Y.
  The launcher sets TCL_LIBRARY and TK_LIBRARY to those folders (absolute paths it
  computes when it runs), so Tcl never searches the compiled-in or working-directory
  relative places.

Tk draws text with Xft, through fontconfig: on a system with no fonts (a container, a
minimal Debian) it cannot make a single font and the app stops with "failed to allocate
font". So the bundle also ships the build host's default sans-serif font (fc-match) and a
fontconfig file in lib/fonts/ that adds it to the system's own configuration (when there
is one); the launcher points FONTCONFIG_FILE at that file unless the caller set it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from packager.bundle import stdlib
from packager.core import runner
from packager.core.context import Context
from packager.core.errors import ToolError, UsageError

TKINTER = "tkinter"
_TK_FIX = "install Tk for the interpreter (Debian: apt-get install python3-tk)"
_FONT_FIX = "install fontconfig and a font (Debian: apt-get install fontconfig fonts-dejavu-core)"
FONTS_DIR = "lib/fonts"
# The system's own configuration (and through it the user's) when there is one, then the
# font shipped beside this file and the usual font folders for systems that have none.
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir prefix="relative">.</dir>
  <dir>/usr/share/fonts</dir>
  <dir prefix="xdg">fonts</dir>
  <cachedir prefix="xdg">fontconfig</cachedir>
</fontconfig>
"""
# What the interpreter's own Tcl reports: where its script library is, and its version.
_ASK_TCL = (
    "import tkinter\n"
    "tcl = tkinter.Tcl()\n"
    "print(tcl.eval('info library'))\n"
    "print(tcl.eval('info tclversion'))\n"
)


@dataclass(frozen=True)
class ScriptLibraries:
    """Where the interpreter's Tcl and Tk keep their script libraries."""

    tcl: str  # e.g. /usr/share/tcltk/tcl8.6 (holds init.tcl)
    tk: str  # e.g. /usr/share/tcltk/tk8.6 (holds tk.tcl)


@dataclass(frozen=True)
class ShippedTclTk:
    """What was copied into a tree for Tk, relative to its root."""

    tcl: str  # lib/tcl8.6
    tk: str  # lib/tk8.6
    fonts_conf: str  # lib/fonts/fonts.conf
    sources: Mapping[str, str] = field(default_factory=dict)  # what each was copied from


def has_tkinter(dynload_dir: str) -> bool:
    """Whether `dynload_dir` holds the `_tkinter` extension module."""
    return os.path.isdir(dynload_dir) and any(
        name.split(".")[0] == "_tkinter" for name in os.listdir(dynload_dir)
    )


def parse_tcl_answer(text: str) -> tuple[str, str]:
    """(library directory, version) from what `_ASK_TCL` prints; ValueError if malformed."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 2 or not os.path.isabs(lines[0]) or not lines[1].replace(".", "").isdigit():
        raise ValueError(f"unexpected answer from Tcl: {text!r}")
    return lines[0], lines[1]


def find_script_libraries(python: str, ctx: Context) -> ScriptLibraries:
    """Ask `python`'s own Tcl where its script library is; Tk's is beside it, where Tk
    itself looks (`[file dirname [info library]]/tkX.Y`)."""
    result = runner.run(
        [python, "-I", "-c", _ASK_TCL], environ=ctx.environ, check=False, echo=ctx.echo
    )
    if result.returncode != 0:
        raise ToolError(
            f"{python} cannot start Tcl ({_last_line(result.stderr)})",
            path=python,
            fix=_TK_FIX,
            output=result.stderr,
        )
    try:
        tcl, version = parse_tcl_answer(result.stdout)
    except ValueError as exc:
        raise ToolError(str(exc), path=python, fix=_TK_FIX) from exc
    tk = os.path.join(os.path.dirname(tcl), f"tk{version}")
    for directory, script, package in ((tcl, "init.tcl", "tcl"), (tk, "tk.tcl", "tk")):
        if not os.path.isfile(os.path.join(directory, script)):
            raise ToolError(
                f"the {package.capitalize()} script library has no {script}",
                path=directory,
                fix=f"install {package}{version} (Debian: apt-get install {package}{version})",
            )
    return ScriptLibraries(tcl, tk)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def ship_tcltk(root: str, dynload_dir: str, python: str, ctx: Context) -> ShippedTclTk | None:
    """Copy Tcl's and Tk's script libraries into `root`/lib when the tree has `_tkinter`
    (in `dynload_dir`); None when it does not."""
    if not has_tkinter(dynload_dir):
        return None
    libraries = find_script_libraries(python, ctx)
    shipped: list[str] = []
    sources: dict[str, str] = {}
    for source in (libraries.tcl, libraries.tk):
        relative = f"lib/{os.path.basename(source)}"
        ctx.progress(f"shipping the Tcl/Tk script library {source} as {relative}")
        # Symlinks are followed: the bundle must not point outside itself.
        shutil.copytree(source, os.path.join(root, relative), symlinks=False)
        shipped.append(relative)
        sources[relative] = source
    conf = ship_font(root, ctx, sources)
    return ShippedTclTk(shipped[0], shipped[1], conf, sources)


def ship_font(root: str, ctx: Context, sources: dict[str, str] | None = None) -> str:
    """Copy the host's default sans-serif font and a fontconfig file to `root`/lib/fonts;
    the file's path relative to `root`. `sources` gets the font's: {tree path: source}."""
    fc_match = runner.require("fc-match", ctx.environ, fix=_FONT_FIX)
    result = runner.run(
        [fc_match, "--format=%{file}", "sans-serif"], environ=ctx.environ, echo=ctx.echo
    )
    font = result.stdout.strip()
    if not os.path.isabs(font) or not os.path.isfile(font):
        raise ToolError("fontconfig knows no sans-serif font on this machine", fix=_FONT_FIX)
    target = os.path.join(root, *FONTS_DIR.split("/"))
    os.makedirs(target, exist_ok=True)
    ctx.progress(f"shipping the font {font} for Tk, in {FONTS_DIR}")
    stdlib.copy_file(font, os.path.join(target, os.path.basename(font)))
    if sources is not None:
        sources[f"{FONTS_DIR}/{os.path.basename(font)}"] = font
    notice = _licence_of(font, ctx)
    if notice is not None:
        stdlib.copy_file(notice, os.path.join(target, f"{os.path.basename(font)}.copyright"))
    stdlib.write_text(os.path.join(target, "fonts.conf"), FONTS_CONF)
    return f"{FONTS_DIR}/fonts.conf"


def _licence_of(font: str, ctx: Context) -> str | None:
    """The copyright file of the Debian package holding `font` (its licence asks that the
    notice travel with the font); None off Debian."""
    dpkg_query = runner.which("dpkg-query", ctx.environ)
    if dpkg_query is None:
        return None
    result = runner.run([dpkg_query, "-S", font], environ=ctx.environ, check=False)
    package = result.stdout.partition(":")[0].strip()
    notice = f"/usr/share/doc/{package}/copyright"
    return notice if package and os.path.isfile(notice) else None


# Where a onefile program carries Tcl/Tk: TCLTK_DIR of templates/runtime/_packager_boot.py.
ONEFILE_DIR = "_packager_tcltk"


def onefile_tcltk(python: str, scratch: str, ctx: Context) -> tuple[dict[str, str], dict[str, str]]:
    """(archive members, the boot module's TCLTK table) for a onefile program: Tcl's and
    Tk's script libraries and the font, which it copies out when `_tkinter` is imported."""
    libraries = find_script_libraries(python, ctx)
    members: dict[str, str] = {}
    for source in (libraries.tcl, libraries.tk):
        _add_folder(members, source, f"{ONEFILE_DIR}/{os.path.basename(source)}")
    ship_font(scratch, ctx)
    _add_folder(members, os.path.join(scratch, *FONTS_DIR.split("/")), f"{ONEFILE_DIR}/fonts")
    table = {
        "TCL_LIBRARY": os.path.basename(libraries.tcl),
        "TK_LIBRARY": os.path.basename(libraries.tk),
        "FONTCONFIG_FILE": "fonts/fonts.conf",
    }
    return members, table


def _add_folder(members: dict[str, str], folder: str, prefix: str) -> None:
    """Every file under `folder` (symlinks followed) as a member under `prefix`."""
    for current, subdirs, files in os.walk(folder, followlinks=True):
        subdirs.sort()
        for name in sorted(files):
            path = os.path.join(current, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            members[f"{prefix}/{relative}"] = path


def require_tkinter(dynload_dir: str, stdlib_dir: str) -> None:
    """Refuse a kept tkinter the interpreter cannot load: no `_tkinter` in its lib-dynload."""
    if not has_tkinter(dynload_dir):
        raise UsageError(
            "tkinter is kept, but the interpreter has no _tkinter extension module in "
            "lib-dynload: the app could not open a window",
            path=stdlib_dir,
            fix=f"{_TK_FIX}, or bundle with an interpreter built with Tk",
        )
