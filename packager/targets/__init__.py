"""Targets: every system packager builds, bundles and verifies for, as one table.

A target is named as cargo names it (`x86_64-unknown-linux-gnu`). Its entry says what
the rest of packager asks of it: its system and machine, where its Python comes from,
the C compiler cargo links with (and the Debian package that has it), the layout its
bundles take and what runs them for `verify`. Code asks the entry; it never tests the
triple's text. Adding a target is one entry here plus the modules its Python source,
layout or runner need, if they are new.

This package is data: it imports only `core`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from packager.core.errors import UsageError
from packager.targets.machines import Machine, host_arch, machine


class TargetSystem(StrEnum):
    WINDOWS = "windows"
    LINUX = "linux"


class PythonSource(StrEnum):
    """Where a target's CPython comes from."""

    HOST = "host"  # an interpreter of this machine, or a portable runtime built here
    TARGET_ROOT = "target-root"  # the CPython of the target's root file system (--python-home)
    WINDOWS_HOME = "windows-home"  # a Windows CPython's folder (--python-home)


class LayoutKind(StrEnum):
    """The tree a bundle for the target is laid out as (packager.bundle.layouts)."""

    ELF = "elf"
    PE = "pe"


class Runner(StrEnum):
    """What runs the target's programs here, for `verify`."""

    SANDBOX = "sandbox"  # bubblewrap, directly
    QEMU = "qemu"  # bubblewrap under qemu-user, with the target root's C library
    WINE = "wine"  # a fresh wine prefix


@dataclass(frozen=True)
class Target:
    """One target triple, and what building, bundling and verifying for it take."""

    triple: str
    system: TargetSystem
    arch: str  # as inspect names machines
    python: PythonSource
    layout: LayoutKind
    runner: Runner
    linker: str | None = None  # the C compiler cargo links with; None: cargo's own choice
    linker_package: str | None = None  # the Debian package that provides it

    @property
    def machine(self) -> Machine:
        """The record of the target's machine: its Debian, RPM and GNU names."""
        return machine(self.arch)

    @property
    def multiarch(self) -> str | None:
        """Debian's multiarch name of a Linux target's libraries ("x86_64-linux-gnu")."""
        return self.machine.multiarch if self.system is TargetSystem.LINUX else None

    @property
    def binutils_package(self) -> str | None:
        """The Debian package of the binutils for the target's files (strip)."""
        package = self.linker_package
        return package.replace("gcc-", "binutils-", 1) if package else None

    @property
    def linker_variable(self) -> str:
        """The cargo variable that names the linker: CARGO_TARGET_<TRIPLE>_LINKER."""
        return "CARGO_TARGET_" + re.sub(r"[^A-Z0-9]", "_", self.triple.upper()) + "_LINKER"

    @property
    def executable_suffix(self) -> str:
        """What cargo appends to a program's name for this target."""
        return ".exe" if self.system is TargetSystem.WINDOWS else ""

    @property
    def is_cross(self) -> bool:
        """Whether the target's Python comes from elsewhere than this machine."""
        return self.python is not PythonSource.HOST


TARGETS = {
    target.triple: target
    for target in (
        Target(
            "x86_64-unknown-linux-gnu",
            TargetSystem.LINUX,
            "x86_64",
            PythonSource.HOST,
            LayoutKind.ELF,
            Runner.SANDBOX,
        ),
        Target(
            "x86_64-pc-windows-gnu",
            TargetSystem.WINDOWS,
            "x86_64",
            PythonSource.WINDOWS_HOME,
            LayoutKind.PE,
            Runner.WINE,
            "x86_64-w64-mingw32-gcc",
            "gcc-mingw-w64-x86-64",
        ),
        Target(
            "aarch64-unknown-linux-gnu",
            TargetSystem.LINUX,
            "aarch64",
            PythonSource.TARGET_ROOT,
            LayoutKind.ELF,
            Runner.QEMU,
            "aarch64-linux-gnu-gcc",
            "gcc-aarch64-linux-gnu",
        ),
    )
}
# The targets a build reaches with --target and --python-home.
CROSS_TARGETS = {triple: target for triple, target in TARGETS.items() if target.is_cross}


def target_named(triple: str) -> Target:
    """The target named `triple`; refuse one the table does not have."""
    return _lookup(TARGETS, triple, "no target")


def cross_target(triple: str) -> Target:
    """The cross target named `triple`; refuse one this host has no recipe for."""
    return _lookup(CROSS_TARGETS, triple, "no cross build recipe for the target")


def _lookup(table: dict[str, Target], triple: str, what: str) -> Target:
    found = table.get(triple)
    if found is None:
        raise UsageError(
            f"{what} '{triple}'",
            fix=f"use one of {', '.join(sorted(table))} (cargo's names)",
        )
    return found


def linux_target_for(arch: str) -> Target | None:
    """The Linux target whose machine is `arch`, if the table has one."""
    return next(
        (t for t in TARGETS.values() if t.system is TargetSystem.LINUX and t.arch == arch), None
    )


def is_native(triple: str) -> bool:
    """Whether `triple` is this machine's own target (built as if no --target were given)."""
    target = TARGETS.get(triple)
    return target is not None and not target.is_cross and target.arch == host_arch()


def linux_cross_triples() -> tuple[str, ...]:
    """The triples of the Linux cross targets, for messages that name them."""
    return tuple(triple for triple, t in CROSS_TARGETS.items() if t.system is TargetSystem.LINUX)


def linux_arches() -> tuple[str, ...]:
    """The machines of the Linux targets, each once."""
    return tuple(dict.fromkeys(t.arch for t in TARGETS.values() if t.system is TargetSystem.LINUX))


__all__ = [
    "CROSS_TARGETS",
    "TARGETS",
    "LayoutKind",
    "PythonSource",
    "Runner",
    "Target",
    "TargetSystem",
    "cross_target",
    "host_arch",
    "is_native",
    "linux_arches",
    "linux_cross_triples",
    "linux_target_for",
    "target_named",
]
