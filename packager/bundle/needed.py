"""--only-needed for folder bundles: the standard library cut to what the program imports.

The modules kept are those the app's scripts import as they load (the tree's app/*.py and
`--script` files), those the Python inside the crate imports (its embedded code and
included scripts, packager.crate.python_code), `--include`, and what Python itself
imports at start-up (site and the launcher's restore hook among them), each followed
through its own imports by modulefinder (packager.bundle.onefile.selection). The rest of
lib/python3.X goes, lib-dynload included, before the system libraries are vendored, so
only the kept extension modules bring theirs. Third-party packages stay whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from packager.bundle.onefile.selection import (
    extension_suffixes,
    member_module,
    needed_modules,
    select_members,
)
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.core.fsutil import files_under
from packager.crate.python_code import crate_python_imports
from packager.outputs.launchers import RESTORE_MODULE
from packager.python.runtime import PythonRuntime

# Imported by name at run time, out of modulefinder's sight: sysconfig's build data.
_BY_NAME_PREFIXES = ("_sysconfigdata",)
_EXAMPLES = 6  # left-out packages named in the note


@dataclass(frozen=True)
class NeededSpec:
    """What --only-needed follows in a folder bundle."""

    scripts: tuple[str, ...] = ()  # --script files, besides the tree's app/*.py
    include: tuple[str, ...] = ()  # --include modules (each must exist)
    package_dir: str | None = None  # the crate, whose own Python is read


@dataclass(frozen=True)
class LeftOut:
    """What keep_needed removed from the tree."""

    modules: tuple[str, ...]  # the modules left out, sorted
    removed: frozenset[str]  # the files removed
    size: int  # bytes

    def note(self) -> str:
        """The manifest's note saying what was left out and how to keep a module."""
        tops = sorted({name for name in self.modules if "." not in name and name[0] != "_"})
        examples = ", ".join(tops[:_EXAMPLES]) + (", ..." if len(tops) > _EXAMPLES else "")
        return (
            f"--only-needed left out {len(self.modules)} standard-library modules "
            f"({self.size / 2**20:.1f} MiB in {len(self.removed)} files) that the program does not "
            f"import as it loads ({examples}): --include MODULE keeps one"
        )


def keep_needed(root: str, runtime: PythonRuntime, spec: NeededSpec, ctx: Context) -> LeftOut:
    """Remove from the tree at `root` the stdlib modules the program does not import."""
    ctx.progress("finding the modules the program imports (--only-needed)")
    version_dir = os.path.join(root, "lib", runtime.version_dir)
    site_packages = os.path.join(root, runtime.site_packages)
    app = os.path.join(root, "app")
    scripts = [*spec.scripts, *files_under(app, lambda path: path.endswith(".py"))]
    crate = crate_python_imports(spec.package_dir) if spec.package_dir else ()
    if not scripts and not crate and not spec.include:
        raise UsageError(
            "--only-needed needs the program's Python to analyse: the crate has none and "
            "the bundle has no app/ scripts",
            fix="pass the scripts (--script FILE) or the modules (--include MODULE)",
        )
    needed = needed_modules(
        runtime.interpreter.executable,
        path=[version_dir, os.path.join(version_dir, "lib-dynload"), site_packages, app],
        scripts=scripts,
        include=spec.include,
        environ=ctx.environ,
        optional=["site", RESTORE_MODULE, *(found.module for found in crate)],
    )
    suffixes = extension_suffixes(runtime.interpreter.ext_suffix)
    return _remove_unneeded(version_dir, site_packages, needed, suffixes)


def _remove_unneeded(
    version_dir: str, site_packages: str, needed: frozenset[str], suffixes: list[str]
) -> LeftOut:
    outside_site = os.path.join(site_packages, "")
    files = {
        os.path.relpath(path, version_dir).replace(os.sep, "/"): path
        for path in files_under(version_dir, lambda path: not path.startswith(outside_site))
    }
    kept = select_members(files, needed, suffixes)
    modules: set[str] = set()
    removed: set[str] = set()
    size = 0
    for member, path in files.items():
        name = member_module(member, suffixes)
        if member in kept or (name or "").startswith(_BY_NAME_PREFIXES):
            continue
        size += os.path.getsize(path)
        os.remove(path)
        removed.add(path)
        if name is not None:
            modules.add(name)
    _remove_empty_dirs(version_dir)
    return LeftOut(tuple(sorted(modules)), frozenset(removed), size)


def _remove_empty_dirs(top: str) -> None:
    for directory, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
        if directory != top and not os.listdir(directory):
            os.rmdir(directory)
