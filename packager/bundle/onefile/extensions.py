"""Decide how each compiled extension module reaches a onefile program.

A module is either built into the static interpreter (its PyInit_ is in the binary, so
`sys.builtin_module_names` lists it), loaded from inside the file through an anonymous
memory file, or impossible there, with the reason: a module loaded from memory has no
directory of its own, so libraries shipped beside it (auditwheel's `pkg.libs/`, found
through `$ORIGIN`) cannot be found, and a library missing on this host cannot be either.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from packager.binary import ResolveContext, read_binary, resolve_needed
from packager.errors import PackagerError
from packager.model import BinaryFormat


class Placement(StrEnum):
    BUILTIN = "built-in"  # in the static libpython: the archive does not carry it
    MEMORY = "memory"  # carried in the archive, loaded through memfd_create at import
    IMPOSSIBLE = "impossible"  # cannot work from inside the file; `reason` says why


@dataclass(frozen=True)
class ExtensionPlan:
    """One compiled module and how the onefile program gets it."""

    name: str  # the full module name, e.g. "markupsafe._speedups"
    placement: Placement
    member: str  # the archive member it comes from (only MEMORY ones stay in the archive)
    reason: str
    system_libraries: tuple[str, ...] = ()  # needed from the target system (e.g. libffi)


def module_name(relative: str, suffixes: Iterable[str]) -> str | None:
    """The module a file imports as (`pkg/_mod.cpython-311-x86_64-linux-gnu.so` -> `pkg._mod`).

    `relative` is the path under a sys.path entry, with / separators; None if it is no
    extension module (a plain shared library such as `pkg.libs/libfoo.so.1`).
    """
    for suffix in sorted(suffixes, key=len, reverse=True):
        if relative.endswith(suffix):
            parts = relative[: -len(suffix)].split("/")
            if all(part.isidentifier() for part in parts):
                return ".".join(parts)
    return None


def plan_extensions(
    files: Mapping[str, str],
    *,
    builtin_names: Iterable[str],
    suffixes: Iterable[str],
    tree: str,
    sysroot: str = "/",
) -> tuple[tuple[ExtensionPlan, ...], tuple[str, ...]]:
    """(plans, archive members to leave out) for the shared objects in `files`.

    `files` maps an archive member (`lib-dynload/_json...so`, `site-packages/pkg/_x...so`)
    to its file in the staging `tree`. Built-in modules and shared objects that are not
    modules are left out of the archive. Libraries resolve in `sysroot` (a foreign
    program's target root).
    """
    builtin = frozenset(builtin_names)
    suffix_list = tuple(suffixes)
    plans: list[ExtensionPlan] = []
    omitted: list[str] = []
    for member in sorted(files):
        relative = member.split("/", 1)[1] if "/" in member else member
        name = module_name(relative, suffix_list)
        if name is None:
            omitted.append(member)
            continue
        if name in builtin:
            plans.append(ExtensionPlan(name, Placement.BUILTIN, member, "in the static libpython"))
            omitted.append(member)
            continue
        plans.append(_plan_loaded(name, member, files[member], tree, sysroot))
    return tuple(plans), tuple(omitted)


def _plan_loaded(name: str, member: str, path: str, tree: str, sysroot: str) -> ExtensionPlan:
    try:
        binary_format, images = read_binary(path)
    except PackagerError as exc:
        return ExtensionPlan(name, Placement.IMPOSSIBLE, member, f"unreadable: {exc.message}")
    if binary_format is not BinaryFormat.ELF:
        reason = f"a {binary_format.value} file, which Linux cannot load"
        return ExtensionPlan(name, Placement.IMPOSSIBLE, member, reason)
    image = images[0]
    system: list[str] = []
    tree_root = os.path.realpath(tree) + os.sep
    for library in resolve_needed(image, path, ResolveContext(environ={}, root=sysroot)):
        if library.resolved_path is None:
            reason = f"needs {library.name}, which is not installed on this system"
            return ExtensionPlan(name, Placement.IMPOSSIBLE, member, reason)
        if os.path.realpath(library.resolved_path).startswith(tree_root):
            shipped = os.path.relpath(library.resolved_path, tree)
            reason = (
                f"needs {library.name}, shipped beside it ({shipped}); a module loaded "
                "from memory has no directory for $ORIGIN to find it in"
            )
            return ExtensionPlan(name, Placement.IMPOSSIBLE, member, reason)
        if not library.name.startswith(("libc.so", "libm.so", "libpthread.so", "libdl.so")):
            system.append(library.name)
    reason = "loaded from memory"
    if system:
        reason += f"; needs {', '.join(system)} from the target system"
    return ExtensionPlan(name, Placement.MEMORY, member, reason, tuple(system))
