"""The file system a system package (.deb, .rpm) installs, staged under a scratch root.

The bundle tree goes to /opt/NAME, the command /usr/bin/NAME is a symlink to its
launcher, and a GUI app (or one with an icon) gets its menu entry and icon under
/usr/share. `normalize_modes` then makes modes 0755/0644, whatever the umask was.
"""

from __future__ import annotations

import os
import shutil

from packager.crate.appmeta import AppMetadata
from packager.outputs.desktop import stage_entry, wants_entry

LICENCES = "licenses"  # the bundle's folder of licence texts (packager.bundle.licences)
LICENCE_INDEX = f"{LICENCES}/README"  # its index: each component, its licence, its texts


def stage_package_root(
    root: str, tree: str, name: str, launcher: str, meta: AppMetadata | None
) -> tuple[str, ...]:
    """Lay the package's files out under `root`; the absolute paths it installs (the
    /opt folder, the command, the entry and icon), sorted."""
    install_dir = os.path.join(root, "opt", name)
    shutil.copytree(tree, install_dir, symlinks=True)
    os.makedirs(os.path.join(root, "usr", "bin"))
    os.symlink(f"/opt/{name}/{launcher}", os.path.join(root, "usr", "bin", name))
    installed = [f"/opt/{name}", f"/usr/bin/{name}"]
    if meta is not None and wants_entry(meta):
        written = stage_entry(os.path.join(root, "usr", "share"), meta, f"/usr/bin/{name}")
        installed.extend(f"/usr/share/{path}" for path in written)
    return tuple(sorted(installed))


def normalize_modes(root: str) -> None:
    """Directories and executables 0755, other files 0644; symlinks are left alone."""
    for directory, _subdirs, files in os.walk(root):
        os.chmod(directory, 0o755)
        for file_name in files:
            path = os.path.join(directory, file_name)
            if not os.path.islink(path):
                executable = os.stat(path).st_mode & 0o111
                os.chmod(path, 0o755 if executable else 0o644)
