"""Run paths of the ELF files a bundle ships: only entries relative to the file survive.

An interpreter built with `-Wl,-rpath` (pyenv's, for one) leaves an absolute RUNPATH into
its own installation on libpython and on every extension module. Inside a bundle such an
entry points at the build machine: it leaks a build path, and on a user's machine that
happens to hold the same path it loads the wrong library. The bundle's binary finds
libpython through its own `$ORIGIN` run path, so the files need none of these entries.
"""

from __future__ import annotations

from collections.abc import Iterable

from packager.binary import read_binary
from packager.core import runner
from packager.core.context import Context
from packager.core.errors import PackagerError

_PATCHELF_FIX = "install patchelf (Debian: apt-get install patchelf)"
_ORIGIN = ("$ORIGIN", "${ORIGIN}")


def portable_entries(entries: Iterable[str]) -> tuple[str, ...]:
    """The entries that stay valid wherever the file is: those based on $ORIGIN."""
    return tuple(entry for entry in entries if entry.startswith(_ORIGIN))


def set_run_path(path: str, entries: Iterable[str], ctx: Context) -> None:
    """Write `entries` as the file's DT_RPATH (none: remove it). Not DT_RUNPATH: that is
    searched after LD_LIBRARY_PATH, so a relative or empty entry there (`:lib`) would
    load a library of the working directory in place of one the bundle ships."""
    patchelf = runner.require("patchelf", ctx.environ, fix=_PATCHELF_FIX)
    joined = ":".join(entries)
    action = ["--force-rpath", "--set-rpath", joined] if joined else ["--remove-rpath"]
    runner.run([patchelf, *action, path], environ=ctx.environ, echo=ctx.echo)


def scrub_rpaths(paths: Iterable[str], ctx: Context) -> list[str]:
    """Drop every run-path entry of `paths` not based on $ORIGIN, and write the others as
    DT_RPATH; the files changed."""
    changed: list[str] = []
    for path in paths:
        try:
            _, images = read_binary(path)
        except PackagerError:
            continue  # not a file the loader reads either
        if len(images) != 1:
            continue
        entries, runpath = images[0].rpaths, images[0].runpath
        kept = portable_entries(entries)
        if kept == tuple(entries) and not (kept and runpath):
            continue
        set_run_path(path, kept, ctx)
        changed.append(path)
    return changed


def add_library_entry(paths: Iterable[str], entry: str, ctx: Context) -> list[str]:
    """Append `entry` ("$ORIGIN/../..") to the run path of each of `paths` that needs a
    library beyond the manylinux allowlist (one a bundle ships in its lib/), as vendoring
    would; the files changed. Done once in a prepared runtime, it leaves vendoring
    nothing to change there, so those files stay as cached (their zstd frames too)."""
    from packager.binary.floor import is_allowed

    changed: list[str] = []
    for path in paths:
        try:
            _, images = read_binary(path)
        except PackagerError:
            continue
        if len(images) != 1 or all(is_allowed(name) for name in images[0].needed):
            continue
        entries = portable_entries(images[0].rpaths)
        if entry in entries and not images[0].runpath:
            continue
        set_run_path(path, [*entries, entry] if entry not in entries else entries, ctx)
        changed.append(path)
    return changed
