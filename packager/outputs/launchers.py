"""Render the launchers (POSIX sh, Windows .cmd) and the hook that restores their variables."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping

from packager.core.errors import SearchPathError
from packager.core.templates import read_template

RESTORE_MODULE = "_packager_restore_env"
RESTORE_PTH = "_packager_restore_env.pth"

_PLACEHOLDER = re.compile(r"@@[A-Z0-9_]+@@")
# Characters a .cmd file can hold inside "set" quotes without escaping.
_CMD_SAFE = re.compile(r"[A-Za-z0-9._+\-\\]+")
# glibc splits LD_LIBRARY_PATH at both; Windows splits PATH at ';'.
SEARCH_PATH_SEPARATORS = ":;"


def check_search_path_safe(path: str) -> None:
    """Refuse a bundle location whose path (as given, or with symlinks resolved) holds ':' or ';'.

    The launcher puts its own folder into LD_LIBRARY_PATH, where either character starts a
    new entry (a relative one, searched from the current directory), so it refuses to run
    from such a folder: a bundle must not be written there in the first place.
    """
    for candidate in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
        found = [char for char in SEARCH_PATH_SEPARATORS if char in candidate]
        if found:
            shown = " and ".join(f"'{char}'" for char in found)
            raise SearchPathError(
                f"the path contains {shown}, which separate the entries of LD_LIBRARY_PATH "
                "and PATH: the bundle's launcher would refuse to run from here",
                path=candidate,
                fix="choose an --out directory whose path has no ':' or ';'",
            )


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill `@@KEY@@` placeholders; every placeholder must have a value and vice versa."""
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        key = match.group(0)[2:-2]
        if key not in values:
            raise KeyError(f"template placeholder {key} has no value")
        used.add(key)
        return values[key]

    text = _PLACEHOLDER.sub(substitute, template)
    unused = set(values) - used
    if unused:
        raise KeyError(f"values for no placeholder: {sorted(unused)}")
    return text


def posix_launcher(
    name: str,
    binary: str,
    *,
    set_library_path: bool,
    export_env: bool,
    workdir: str | None = None,
    tcl_tk: tuple[str, str, str] | None = None,
) -> str:
    """The sh launcher for the binary at `binary`; `workdir` is the folder it starts the
    program in, `tcl_tk` the Tcl and Tk script libraries it points TCL_LIBRARY and
    TK_LIBRARY at and the fallback fontconfig file (all relative to the bundle root);
    None for the caller's folder and for no Tcl/Tk."""
    tcl, tk, fonts_conf = tcl_tk or ("", "", "")
    return render(
        read_template("launchers/launcher.sh"),
        {
            "NAME": name,
            "BINARY": shlex.quote(binary),
            "SET_LIBRARY_PATH": "1" if set_library_path else "0",
            "EXPORT_ENV": "1" if export_env else "0",
            "WORKDIR": shlex.quote(workdir or ""),
            "TCL_LIBRARY": shlex.quote(tcl),
            "TK_LIBRARY": shlex.quote(tk),
            "FONTS_CONF": shlex.quote(fonts_conf),
        },
    )


def cmd_launcher(name: str, binary: str, dll_dir: str, *, export_env: bool) -> str:
    """The .cmd launcher for a Windows binary; `binary` and `dll_dir` are relative paths."""
    windows_binary = binary.replace("/", "\\")
    windows_dll_dir = dll_dir.replace("/", "\\")
    for value in (windows_binary, windows_dll_dir):
        if not _CMD_SAFE.fullmatch(value):
            raise ValueError(f"cannot place {value!r} in a .cmd launcher")
    text = render(
        read_template("launchers/launcher.cmd"),
        {
            "NAME": name,
            "BINARY": windows_binary,
            "DLL_DIR": windows_dll_dir,
            "EXPORT_ENV": "1" if export_env else "0",
        },
    )
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def restore_hook() -> tuple[str, str]:
    """(module source, .pth line): installed into site-packages of every bundle."""
    return read_template(f"launchers/{RESTORE_MODULE}.py"), f"import {RESTORE_MODULE}\n"
