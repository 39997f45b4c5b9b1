"""The app's freedesktop menu entry and icon, as the .deb, the .rpm and the installer ship it.

An app gets an entry when its metadata says it is a GUI app or gives an icon. The entry is
`share/applications/ID.desktop`, the icon `share/icons/hicolor/NxN/apps/ID.png` (N is the
icon's size, which must be one of hicolor's sizes: see `check_theme_icon`), both under
/usr for a package and under $XDG_DATA_HOME for the installer, ID being the package name.

Values follow the Desktop Entry Specification (1.5; every key used is in 1.0, the version
the file declares, which older validators also know): strings escape `\\`, newline, tab
and carriage return, and the Exec line quotes each argument by the spec's own rules (not
a shell's), so an install path with spaces, quotes, `$` or `%` still runs.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence

from packager.core.errors import UsageError
from packager.crate.appmeta import AppMetadata
from packager.crate.icon import Icon

# The pixel sizes of hicolor's fixed-size directories (its index.theme).
HICOLOR_SIZES = (16, 22, 24, 32, 36, 48, 64, 72, 96, 128, 192, 256, 512)
# Characters that make an Exec argument need double quotes (the spec's "reserved" ones).
_RESERVED = re.compile(r"[ \t\n\"'\\><~|&;$*?#()`]")
# Inside double quotes these four are escaped with a backslash.
_QUOTED_ESCAPES = re.compile(r"[\"`$\\]")
_STRING_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def wants_entry(meta: AppMetadata | None) -> bool:
    """Whether the app gets a menu entry: it is a GUI app, or it has an icon."""
    return meta is not None and (meta.gui or meta.icon is not None)


def entry_id(name: str) -> str:
    """The desktop file ID (and icon name) of bundle `name`: its package name."""
    return name.lower().replace("_", "-")


def check_theme_icon(icon: Icon | None, *, option: str = "--icon") -> None:
    """Refuse an icon no hicolor directory holds: menus would not find it at its size."""
    if icon is not None and icon.size not in HICOLOR_SIZES:
        sizes = ", ".join(str(size) for size in HICOLOR_SIZES)
        nearest = min(HICOLOR_SIZES, key=lambda size: (abs(size - icon.size), -size))
        raise UsageError(
            f"{option}: the icon is {icon.size}x{icon.size}; Linux icon themes (hicolor) "
            f"take {sizes} pixels",
            path=icon.path,
            fix=f"scale it to one of those sizes, e.g. {nearest}x{nearest}",
        )


def entry_path(name: str) -> str:
    """Where the entry goes, relative to a data directory (/usr/share, $XDG_DATA_HOME)."""
    return f"applications/{entry_id(name)}.desktop"


def icon_path(name: str, icon: Icon) -> str:
    """Where the icon goes, relative to a data directory."""
    return f"icons/hicolor/{icon.size}x{icon.size}/apps/{entry_id(name)}.png"


def string_value(value: str) -> str:
    """`value` escaped as a Desktop Entry string; other control characters are refused."""
    if _CONTROL.search(value):
        raise UsageError(f"{value!r} holds control characters a desktop entry cannot carry")
    escaped = "".join(_STRING_ESCAPES.get(char, char) for char in value)
    # A leading space would be taken for the whitespace around '='.
    return "\\s" + escaped[1:] if escaped.startswith(" ") else escaped


def exec_argument(argument: str) -> str:
    """One Exec argument, quoted when the spec requires it and with '%' doubled."""
    if argument and not _RESERVED.search(argument):
        return argument.replace("%", "%%")
    quoted = _QUOTED_ESCAPES.sub(lambda m: "\\" + m.group(0), argument)
    return '"' + quoted.replace("%", "%%") + '"'


def exec_value(arguments: Sequence[str]) -> str:
    """The Exec value that runs `arguments`, as written in the file (string-escaped)."""
    return string_value(" ".join(exec_argument(argument) for argument in arguments))


def render_entry(meta: AppMetadata, exec_line: str | None) -> str:
    """The .desktop file of the app. `exec_line` is an `exec_value`; None leaves the Exec
    key out, for the installer, which appends it once it knows where the app went."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        f"Name={string_value(meta.display_name)}",
    ]
    if meta.summary != meta.display_name:  # validators flag a Comment that repeats Name
        lines.append(f"Comment={string_value(meta.summary)}")
    if meta.icon is not None:
        lines.append(f"Icon={entry_id(meta.name)}")
    lines.append(f"Terminal={'false' if meta.gui else 'true'}")
    if meta.categories:
        lines.append(f"Categories={''.join(f'{category};' for category in meta.categories)}")
    if exec_line is not None:
        lines.append(f"Exec={exec_line}")
    return "".join(f"{line}\n" for line in lines)


def stage_entry(data_dir: str, meta: AppMetadata, command: str) -> tuple[str, ...]:
    """Write the entry (Exec: `command`) and the icon under `data_dir` (a package's
    usr/share); the paths written, relative to `data_dir`."""
    written = [entry_path(meta.name)]
    entry = os.path.join(data_dir, written[0])
    os.makedirs(os.path.dirname(entry), exist_ok=True)
    with open(entry, "w", encoding="utf-8") as handle:
        handle.write(render_entry(meta, exec_value([command])))
    if meta.icon is not None:
        written.append(icon_path(meta.name, meta.icon))
        icon = os.path.join(data_dir, written[-1])
        os.makedirs(os.path.dirname(icon), exist_ok=True)
        shutil.copyfile(meta.icon.path, icon)
    return tuple(written)
