"""What the Windows installers (.msi, NSIS setup.exe) share: the job, where the app goes,
what its shortcut starts, and its icon."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packager.core.errors import UsageError
from packager.crate.appmeta import AppMetadata
from packager.outputs.ico import png_to_ico

_PLATFORMS = {"x86_64": "x64", "i386": "x86"}
# Characters Windows refuses in a file or folder name.
_BAD_FILE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


@dataclass(frozen=True)
class InstallerJob:
    """One Windows installer to write: the laid-out tree and what it is."""

    root: str  # the laid-out tree
    name: str  # the bundle's name: NAME.exe, NAME.cmd
    meta: AppMetadata
    arch: str  # the program's machine, as inspect names it
    python_version: str  # of the CPython in the tree, e.g. 3.11.9
    work_dir: str  # scratch space, removed afterwards
    out_path: str  # the installer to write


def windows_platform(arch: str) -> str:
    """Windows Installer's name of a program's machine (x64, x86); a UsageError for others."""
    found = _PLATFORMS.get(arch)
    if found is None:
        raise UsageError(
            f"a Windows installer of a {arch} program is not supported",
            fix="bundle an x86_64 or i386 Windows program, or choose --format zip",
        )
    return found


def install_folder(meta: AppMetadata) -> str:
    """The folder under %LOCALAPPDATA%\\Programs: the display name if Windows allows it."""
    display = meta.display_name.strip()
    if _BAD_FILE_NAME.search(display) or display.endswith((".", " ")) or not display:
        return meta.name
    return display


def check_windows_name(name: str, path: str) -> None:
    """Refuse a file or folder name Windows cannot hold (a separator or reserved character
    in it, or a trailing dot or space, which Windows drops)."""
    bad = _BAD_FILE_NAME.search(name)
    if bad is None and not name.endswith((".", " ")):
        return
    what = f"holds {bad.group()!r}" if bad else "ends with a dot or a space"
    raise UsageError(
        f"the file name {name!r} {what}, which a Windows file name cannot",
        path=path,
        fix='rename the file (Windows refuses < > : " / \\ | ? * and control characters)',
    )


def shortcut_program(name: str, meta: AppMetadata) -> str:
    """What a Start-menu shortcut starts, relative to the bundle's root.

    NAME.exe itself for a windowed app (it finds its runtime beside it, and a launcher
    script would flash a console), NAME.cmd for a console app (a console opens either
    way, and the launcher shields it from a PYTHONHOME set for another Python).
    """
    return f"{name}.exe" if meta.gui else f"{name}.cmd"


def write_icon(meta: AppMetadata, path: str) -> str | None:
    """Write the app's icon as an .ico file at `path`; the path, or None without an icon."""
    if meta.icon is None:
        return None
    with open(meta.icon.path, "rb") as png, open(path, "wb") as handle:
        handle.write(png_to_ico(png.read()))
    return path
