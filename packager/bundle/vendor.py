"""Ship the system libraries a bundle's ELF files need beyond the manylinux allowlist.

The runtime's extension modules (and libpython itself, on Debian) link libraries a
minimal system does not have: libssl/libcrypto, libsqlite3, libffi, libexpat, libreadline
and libncursesw, liblzma, libbz2, libuuid... As `auditwheel repair` does for wheels, each
one is copied into the tree's lib/ under its soname, the libraries it needs in turn
too, and every file that needs one gets a run path to lib/ relative to its own
directory ($ORIGIN/...). Copies keep their sonames: the tree is the only place the
loader looks for them, through those run paths.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from packager.binary.floor import inside, is_allowed
from packager.binary.model import BinaryFormat, BinaryReport
from packager.bundle.rpaths import portable_entries, set_run_path
from packager.core.context import Context

_ROUNDS = 16  # dependency depth bound; real chains (readline -> tinfo -> libc) are short


@dataclass(frozen=True)
class Vendored:
    """What vendoring copied into a tree, and which files of the tree it changed."""

    sonames: tuple[str, ...]  # copied into lib/, in order
    changed: frozenset[str]  # files whose run path it set
    sources: Mapping[str, str] = field(default_factory=dict)  # soname -> the file copied


def vendor_libraries(
    root: str, ctx: Context, lib_dir: str = "lib", *, sysroot: str = "/"
) -> Vendored:
    """Copy into `root`/`lib_dir` every library the tree's ELF files take from the
    system beyond the allowlist, transitively, and point the needing files at them.

    `sysroot` is the system the libraries are resolved in: a target's root for a program
    of another architecture (the host's /usr/lib is never read for it).
    """
    from packager.binary.inspect import inspect_paths

    target_dir = os.path.join(root, lib_dir)
    copied: dict[str, str] = {}
    changed: set[str] = set()
    for _ in range(_ROUNDS):
        reports = [
            report
            for report in inspect_paths([root], environ=ctx.environ, root=sysroot).binaries
            if report.format is BinaryFormat.ELF
        ]
        wanted = _from_the_system(reports, root)
        if not wanted:
            break
        os.makedirs(target_dir, exist_ok=True)
        for soname, source in sorted(wanted.items()):
            if soname in copied:
                continue  # already shipped; the needing file only lacks the run path
            ctx.progress(f"shipping {soname} (from {source})")
            target = os.path.join(target_dir, soname)
            shutil.copyfile(os.path.realpath(source), target)
            os.chmod(target, 0o755)
            set_run_path(target, ["$ORIGIN"], ctx)  # for the libraries it needs in turn
            copied[soname] = source
        for report in reports:
            needs = any(library.name in wanted for library in report.needed)
            if needs and _add_run_path(report, target_dir, ctx):
                changed.add(report.path)
    return Vendored(tuple(copied), frozenset(changed), copied)


def _from_the_system(reports: list[BinaryReport], root: str) -> dict[str, str]:
    """{soname: resolved path} of what files of the tree load from outside it."""
    real_root = os.path.realpath(root)
    wanted: dict[str, str] = {}
    for report in reports:
        for library in report.needed:
            path = library.resolved_path
            if path is None or is_allowed(library.name):
                continue
            if not inside(os.path.realpath(path), real_root):
                wanted.setdefault(library.name, path)
    return wanted


def _add_run_path(report: BinaryReport, target_dir: str, ctx: Context) -> bool:
    """Give the file of `report` a run path to `target_dir`; whether it needed one."""
    relative = os.path.relpath(target_dir, os.path.dirname(report.path))
    entry = "$ORIGIN" if relative == "." else f"$ORIGIN/{relative}"
    entries = list(portable_entries(report.rpaths))
    if entry in entries:
        return False
    set_run_path(report.path, [*entries, entry], ctx)
    return True


def unchanged(shipped: Mapping[str, str], changed: set[str]) -> dict[str, str]:
    """`shipped` (tree path -> SHA-256 of the runtime file) without the files changed since."""
    return {path: digest for path, digest in shipped.items() if path not in changed}
