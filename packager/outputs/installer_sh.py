"""The self-extracting `NAME-installer.sh`: a sh header followed by a tar.gz payload.

The header (templates/installer/header.sh) carries the payload's size and SHA-256, so it
reads the payload with `tail -c` and checks it before listing or extracting anything.
A GUI app's menu entry is rendered here (outputs/desktop.py) without its Exec line, which
the header appends once it knows where the app was installed; the icon travels in the
payload as NAME/.packager-icon.png.
"""

from __future__ import annotations

import os

from packager.core.fsutil import sha256_file
from packager.core.templates import read_template
from packager.crate.appmeta import AppMetadata
from packager.outputs.archives import Entry
from packager.outputs.desktop import entry_id, icon_path, render_entry, wants_entry
from packager.outputs.launchers import render

ICON_MEMBER = ".packager-icon.png"


def uninstaller(name: str) -> str:
    """The uninstall script the installer writes into the installed folder."""
    values = {"NAME": name, "MENUS": read_template("installer/menus.sh").rstrip("\n")}
    return render(read_template("installer/uninstall.sh"), values).rstrip("\n")


def payload_entries(entries: list[Entry], name: str, meta: AppMetadata | None) -> list[Entry]:
    """The payload's members: the tree's `entries`, and the app's icon when it gets one."""
    if meta is None or meta.icon is None or not wants_entry(meta):
        return entries
    icon = Entry(f"{name}/{ICON_MEMBER}", meta.icon.path, 0o644)
    return sorted([*entries, icon], key=lambda entry: entry.name)


def write_installer(
    name: str,
    payload: str,
    path: str,
    *,
    arch: str,
    glibc_floor: str | None,
    meta: AppMetadata | None = None,
) -> None:
    """Write `path`: the installer header for `name`, then the tar.gz at `payload`.

    The header refuses a machine other than `arch` and a glibc older than `glibc_floor`;
    with `meta` of a GUI app (or one with an icon) it installs the menu entry and icon.
    """
    desktop = meta is not None and wants_entry(meta)
    icon = meta.icon if meta is not None and desktop else None
    header = render(
        read_template("installer/header.sh"),
        {
            "NAME": name,
            "ARCH": arch,
            "GLIBC_FLOOR": glibc_floor or "",
            "PAYLOAD_SIZE": str(os.path.getsize(payload)),
            "PAYLOAD_SHA256": sha256_file(payload),
            "UNINSTALLER": uninstaller(name),
            "MENUS": read_template("installer/menus.sh").rstrip("\n"),
            "DESKTOP_ID": entry_id(name) if desktop else "",
            "ICON_DIR": os.path.dirname(icon_path(name, icon)) if icon is not None else "",
            "DESKTOP_ENTRY": render_entry(meta, None).rstrip("\n") if meta and desktop else "",
        },
    )
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        with open(payload, "rb") as source:
            while chunk := source.read(1 << 20):
                handle.write(chunk)
    os.chmod(path, 0o755)
