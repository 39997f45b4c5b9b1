"""Decide how each compiled extension module reaches a onefile program.

A module is either built into the static interpreter (its PyInit_ is in the binary, so
`sys.builtin_module_names` lists it), loaded from inside the file (through its copy in
the user's cache, or an anonymous memory file: see the boot module), or impossible
there, with the reason. A module loaded so has no directory of its own, so the libraries
a package ships beside it (auditwheel's `pkg.libs/`, found through `$ORIGIN`) are loaded
the same way first, dependencies first: the loader then finds each by its soname. A
library missing on this host is impossible.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from packager.binary import ResolveContext, read_binary, resolve_needed
from packager.binary.floor import is_allowed
from packager.binary.model import BinaryFormat
from packager.core.errors import PackagerError


class Placement(StrEnum):
    BUILTIN = "built-in"  # in the static libpython: the archive does not carry it
    MEMORY = "memory"  # carried in the archive, loaded from it at import (the JSON name)
    IMPOSSIBLE = "impossible"  # cannot work from inside the file; `reason` says why


@dataclass(frozen=True)
class ExtensionPlan:
    """One compiled module and how the onefile program gets it."""

    name: str  # the full module name, e.g. "markupsafe._speedups"
    placement: Placement
    member: str  # the archive member it comes from (only MEMORY ones stay in the archive)
    reason: str
    system_libraries: tuple[str, ...] = ()  # needed from the target system (e.g. libffi)
    libraries: tuple[str, ...] = ()  # archive members of shipped libraries, loaded first
    system_files: tuple[tuple[str, str], ...] = ()  # (member, host file) of carried system libs


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
    members = {os.path.realpath(path): member for member, path in files.items()}
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
        plans.append(_plan_loaded(name, member, files[member], tree, members, sysroot))
    return tuple(plans), tuple(omitted)


def _plan_loaded(
    name: str, member: str, path: str, tree: str, members: Mapping[str, str], sysroot: str
) -> ExtensionPlan:
    try:
        needs = _Needs.of(path, tree, members, sysroot)
    except _Impossible as exc:
        return ExtensionPlan(name, Placement.IMPOSSIBLE, member, exc.reason)
    reason = "loaded from the file"
    if needs.shipped:
        reason += f" after {', '.join(os.path.basename(m) for m in needs.shipped)}"
    if needs.system:
        reason += f"; needs {', '.join(needs.system)} from the target system"
    return ExtensionPlan(
        name,
        Placement.MEMORY,
        member,
        reason,
        tuple(needs.system),
        tuple(needs.shipped),
        tuple(needs.carried.items()),
    )


class _Impossible(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Needs:
    """What loading one file from memory takes: libraries to load first (in load order:
    the package's own and the system's that a minimal system may lack, carried in the
    archive), and libraries every target system has."""

    shipped: list[str]
    system: list[str]
    carried: dict[str, str]  # member -> host file, for the carried system libraries

    sysroot: str = "/"  # where the target's libraries are (a foreign program's root)

    @classmethod
    def of(cls, path: str, tree: str, members: Mapping[str, str], sysroot: str) -> _Needs:
        needs = cls([], [], {}, sysroot)
        needs._add(path, tree, members, visiting=set())
        return needs

    def _add(self, path: str, tree: str, members: Mapping[str, str], visiting: set[str]) -> None:
        try:
            binary_format, images = read_binary(path)
        except PackagerError as exc:
            raise _Impossible(f"unreadable: {exc.message}") from exc
        if binary_format is not BinaryFormat.ELF:
            raise _Impossible(f"a {binary_format.value} file, which Linux cannot load")
        visiting.add(os.path.realpath(path))
        tree_root = os.path.realpath(tree) + os.sep
        context = ResolveContext(environ={}, root=self.sysroot)
        for library in resolve_needed(images[0], path, context):
            resolved = library.resolved_path or _carried(library.name, members)
            if resolved is None and is_allowed(library.name):
                # Every target system has it (libc, libm…), whether the root searched
                # here does or not (a portable runtime's prefix has no C library).
                self._need_system(library.name)
                continue
            if resolved is None:
                raise _Impossible(f"needs {library.name}, which is not installed on this system")
            real = os.path.realpath(resolved)
            if real.startswith(tree_root):
                shipped = members.get(real)
                if shipped is None:
                    where = os.path.relpath(resolved, tree)
                    raise _Impossible(f"needs {library.name} ({where}), which is not carried")
                self._load_first(shipped, real, tree, members, visiting)
            elif not is_allowed(library.name):
                # Not on every system (libssl, libsqlite3, libreadline): carried and loaded
                # from memory too, so the program needs nothing of the target beyond glibc.
                carried = f"{SYSTEM_LIBRARIES}/{library.name}"
                self.carried[carried] = real
                self._load_first(carried, real, tree, members, visiting)
            else:
                self._need_system(library.name)

    def _need_system(self, name: str) -> None:
        """Record a library of the target system to load first (libc itself is loaded)."""
        if not name.startswith(_LIBC) and name not in self.system:
            self.system.append(name)

    def _load_first(
        self, member: str, real: str, tree: str, members: Mapping[str, str], visiting: set[str]
    ) -> None:
        if member not in self.shipped and real not in visiting:
            self._add(real, tree, members, visiting)  # its own needs load first
            self.shipped.append(member)


def _carried(name: str, members: Mapping[str, str]) -> str | None:
    """A carried library named `name`: one that a module's DT_RPATH, inherited by the
    libraries it loads, finds at run time (a library of pkg.libs/ needing its sibling)."""
    for real, member in members.items():
        if member.rsplit("/", 1)[-1] == name and ".libs/" in member:
            return real
    return None


# Where the archive carries the system libraries that modules need.
SYSTEM_LIBRARIES = "system-libs"
_LIBC = ("libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "ld-linux")
