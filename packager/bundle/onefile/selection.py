"""Keep only the modules a program imports as it loads: `modulefinder` on its scripts.

The analysis follows the imports that run when a module is imported (module level and
class bodies), not the ones inside functions: following those pulls in most of the
stdlib (`os.popen` imports subprocess, `inspect` pydoc...). So imports made later, by
name (`importlib.import_module`, plugins) or from C code are not seen; the C-level
imports of the stdlib's own extension modules are listed here, and anything else the
program imports lazily goes in `include`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from packager.core import runner
from packager.core.errors import ToolError, UsageError

# Imported by the interpreter itself before any script runs (UTF-8 mode: see
# templates/runtime/packager_start.c), or by the boot module.
START_UP_MODULES = (
    "encodings",
    "encodings.aliases",
    "encodings.ascii",
    "encodings.latin_1",
    "encodings.utf_8",
    "encodings.utf_8_sig",
    "_packager_boot",
)

# Modules the stdlib's extension modules import from C (CPython 3.8-3.13 sources).
C_LEVEL_IMPORTS: Mapping[str, tuple[str, ...]] = {
    "_asyncio": ("asyncio", "traceback", "weakref"),
    "_datetime": ("time", "_strptime"),
    "_decimal": ("collections", "numbers", "contextvars"),
    "_elementtree": ("copy", "xml.etree.ElementPath"),
    "_pickle": ("copyreg", "_compat_pickle", "codecs"),
    "time": ("_strptime",),
}

_MARKER = "@@packager-modules@@"

# Runs under -I -S so only the given paths are searched.
_FINDER_SCRIPT = f"""
import json, modulefinder, sys

class LoadTimeFinder(modulefinder.ModuleFinder):
    def scan_code(self, co, m):
        # Function bodies (CO_NEWLOCALS) run later, if at all; blank them, keeping the
        # constants' indexes that IMPORT_NAME's arguments refer to.
        consts = tuple(
            None if hasattr(c, "co_flags") and c.co_flags & 0x2 else c for c in co.co_consts
        )
        super().scan_code(co.replace(co_consts=consts), m)

path, scripts, extra = json.loads(sys.argv[1])
finder = LoadTimeFinder(path=path)
for script in scripts:
    finder.run_script(script)
missing = []
for name in extra:
    try:
        finder.import_hook(name)
    except ImportError:
        missing.append(name)
print("{_MARKER}" + json.dumps([sorted(finder.modules), missing]))
"""


def needed_modules(
    python: str,
    *,
    path: Sequence[str],
    scripts: Sequence[str],
    include: Iterable[str],
    environ: Mapping[str, str],
    optional: Iterable[str] = (),
) -> frozenset[str]:
    """The modules `scripts` import, found on `path` by `python`'s modulefinder.

    `include` adds modules (and what they import) the analysis cannot see; naming one
    that does not exist is a usage error. `optional` ones are added when they exist.
    """
    include = tuple(include)
    start_up = (m for m in START_UP_MODULES if m != "_packager_boot")
    wanted = sorted({*include, *optional, *start_up})
    found: set[str] = set()
    pending = wanted
    # C-level imports are followed to a fixed point: a module they add may have its own.
    for _ in range(4):
        modules, missing = _run_finder(python, path, scripts, pending, environ)
        unknown = sorted(set(missing) & set(include))
        if unknown:
            raise UsageError(
                f"module '{unknown[0]}' is not in the standard library or the packages",
                fix="check the name given to --include, or add the package with --site",
            )
        found.update(modules)
        more = {name for module in found for name in C_LEVEL_IMPORTS.get(module, ())} - found
        if not more:
            break
        pending, scripts = sorted(more), ()
    return frozenset(found | {"_packager_boot"})


def _run_finder(
    python: str,
    path: Sequence[str],
    scripts: Sequence[str],
    extra: Sequence[str],
    environ: Mapping[str, str],
) -> tuple[list[str], list[str]]:
    argument = json.dumps([list(path), list(scripts), list(extra)])
    argv = [python, "-I", "-S", "-c", _FINDER_SCRIPT, argument]
    result = runner.run(argv, environ={"PATH": environ.get("PATH", "")}, check=False)
    for line in result.stdout.splitlines():
        if line.startswith(_MARKER):
            modules, missing = json.loads(line[len(_MARKER) :])
            return [str(m) for m in modules], [str(m) for m in missing]
    raise ToolError(
        "modulefinder could not analyse the scripts",
        path=", ".join(scripts) or None,
        fix="check that the scripts are valid Python for this interpreter",
        output=result.stderr,
        returncode=result.returncode,
    )


def extension_suffixes(ext_suffix: str | None) -> list[str]:
    """The file endings of an interpreter's extension modules, its own tag's first."""
    return [ext_suffix or ".so", ".abi3.so", ".so"]


def member_module(member: str, suffixes: Sequence[str]) -> str | None:
    """The module an archive member holds (`json/__init__.pyc` -> `json`), else None."""
    parts = member.split("/")
    if parts[0] in ("site-packages", "app", "lib-dynload"):
        parts = parts[1:]
    if not parts:
        return None
    last = parts[-1]
    if last.endswith(".pyc"):
        stem = last[: -len(".pyc")]
    else:
        stem = next((last[: -len(s)] for s in suffixes if last.endswith(s)), "")
    if not stem:
        return None
    names = parts[:-1] if stem == "__init__" else [*parts[:-1], stem]
    return ".".join(names) if names else None


def select_members(
    members: Mapping[str, str], modules: frozenset[str], suffixes: Sequence[str]
) -> dict[str, str]:
    """The members that hold one of `modules`, or data files inside a kept package."""
    top_levels = {name.split(".")[0].lower() for name in modules}
    kept: dict[str, str] = {}
    for member, path in members.items():
        name = member_module(member, suffixes)
        if name is not None:
            if name in modules:
                kept[member] = path
            continue
        parts = [p for p in member.split("/")[:-1] if p not in ("site-packages", "app")]
        if parts and ".".join(parts) in modules:
            kept[member] = path  # package data, read through the loader's get_data
        elif (
            parts
            and parts[0].endswith(".dist-info")
            and parts[0].split("-")[0].lower() in top_levels
        ):
            kept[member] = path  # the metadata of a kept distribution
    return kept
