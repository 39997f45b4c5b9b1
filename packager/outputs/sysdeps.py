"""What an installed bundle still needs from the system: the packages' dependencies.

A bundle ships its own runtime; its ELF files may still need system libraries (libc, libm,
libgcc_s, ...) that resolve outside the tree. The .deb names the Debian packages owning
them, the .rpm names their sonames; both state glibc at the tree's floor: the highest
`GLIBC_x.y` any of the files needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packager.binary.floor import version_key
from packager.binary.inspect import inspect_paths
from packager.binary.model import BinaryFormat, BinaryReport


@dataclass(frozen=True)
class SystemNeeds:
    """The system libraries a tree's ELF files need, and the glibc they need at least."""

    glibc: str | None  # the highest GLIBC_x.y any file needs; None: no file names one
    libraries: tuple[tuple[str, str], ...]  # (soname, where it resolves on this host), sorted
    notes: tuple[str, ...]  # needs that resolve nowhere on this host


def system_needs(reports: Sequence[BinaryReport], tree: str) -> SystemNeeds:
    """The needs of the ELF files in `reports` that the tree at `tree` does not ship."""
    root = os.path.realpath(tree)
    libraries: dict[str, str] = {}
    notes: list[str] = []
    glibc: str | None = None
    for report in reports:
        if report.format is not BinaryFormat.ELF:
            continue
        if report.glibc_floor and (
            glibc is None or version_key(report.glibc_floor) > version_key(glibc)
        ):
            glibc = report.glibc_floor
        for library in report.needed:
            if library.resolved_path is None:
                notes.append(
                    f"{os.path.relpath(report.path, root)} needs {library.name}, "
                    "which resolves nowhere on this host: not declared as a dependency"
                )
                continue
            if os.path.realpath(library.resolved_path).startswith(root + os.sep):
                continue
            libraries.setdefault(library.name, library.resolved_path)
    return SystemNeeds(glibc, tuple(sorted(libraries.items())), tuple(notes))


def read_system_needs(tree: str, *, environ: Mapping[str, str]) -> SystemNeeds:
    """Inspect every file under `tree` and return what it needs from the system."""
    return system_needs(inspect_paths([tree], environ=environ).binaries, tree)
