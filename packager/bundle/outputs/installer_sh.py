"""The self-extracting `NAME-installer.sh`: a sh header followed by a tar.gz payload.

The header (templates/installer/header.sh) carries the payload's size and SHA-256, so it
reads the payload with `tail -c` and checks it before listing or extracting anything.
"""

from __future__ import annotations

import os

from packager.bundle.launchers import render
from packager.bundle.outputs.archives import sha256_file
from packager.bundle.templates import read_template


def uninstaller(name: str) -> str:
    """The uninstall script the installer writes into the installed folder."""
    return render(read_template("installer/uninstall.sh"), {"NAME": name}).rstrip("\n")


def write_installer(
    name: str, payload: str, path: str, *, arch: str, glibc_floor: str | None
) -> None:
    """Write `path`: the installer header for `name`, then the tar.gz at `payload`.

    The header refuses a machine other than `arch` and a glibc older than `glibc_floor`.
    """
    header = render(
        read_template("installer/header.sh"),
        {
            "NAME": name,
            "ARCH": arch,
            "GLIBC_FLOOR": glibc_floor or "",
            "PAYLOAD_SIZE": str(os.path.getsize(payload)),
            "PAYLOAD_SHA256": sha256_file(payload),
            "UNINSTALLER": uninstaller(name),
        },
    )
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        with open(payload, "rb") as source:
            while chunk := source.read(1 << 20):
                handle.write(chunk)
    os.chmod(path, 0o755)
