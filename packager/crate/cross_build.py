"""`build --target`: cargo build for another system, against that system's Python.

No interpreter of the target runs here. The PyO3 config comes from the target's Python
files (`packager.crate.cross`), cargo gets the target's linker, and the inittab is generated
from the crate's #[pymodule]s as for a native build.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packager.binary.checks import check_result
from packager.binary.inspect import inspect_paths
from packager.binary.model import InspectResult
from packager.core import runner
from packager.core.errors import ToolError, UsageError
from packager.core.fsutil import write_text_if_changed
from packager.core.runner import Echo
from packager.crate.build import (
    BuildOutcome,
    dependency_modules,
    run_cargo,
    user_rustflags,
)
from packager.crate.crate_runtime import RUNTIME_FILE, start_up_archive_args, write_runtime
from packager.crate.cross import cross_environ, linux_config, linux_link_args, windows_config
from packager.crate.inittab import (
    INITTAB_FILE,
    PyModuleDecl,
    check_names,
    find_modules,
    reserved_names,
    write_inittab,
)
from packager.crate.pyo3_config import Mode, PyO3Config, render
from packager.crate.workspace import find_crate_dir, select_package
from packager.python.target_root import LINUX_ROOT_FIX, LinuxPython, find_linux_python
from packager.python.windows_home import WINDOWS_HOME_FIX, find_windows_python
from packager.targets import PythonSource, Target, TargetSystem, cross_target

# packager.binary.checks' code for "imports a python DLL that is not beside it".
DLL_NOT_BESIDE = "PKG108"


@dataclass(frozen=True)
class TargetPython:
    """What a cross build takes from the target's Python."""

    config: PyO3Config
    source: str  # the Windows home or the Linux root it came from
    rustflags: tuple[str, ...] = ()  # linker arguments the target needs besides
    # A Linux target's Python.h directories, as (flag, directory): the start-up code's.
    headers: tuple[tuple[str, str], ...] = ()
    # A portable runtime's glibc floor ("2.17"): zig links the program for it.
    glibc_floor: str | None = None


def target_config(
    target: Target, *, python_home: str | None, mode: Mode | str = Mode.AUTO
) -> TargetPython:
    """The PyO3 config for `target` and where its Python is; refuse what cannot be built."""
    source = _PYTHON_SOURCES.get(target.python)
    if source is None:
        raise UsageError(f"building for {target.triple} is not supported yet")
    if python_home is None:
        raise UsageError(
            f"building for {target.triple} needs the target's Python",
            fix="pass --python-home DIR: " + _HOME_FIXES[target.python],
        )
    return source(target, python_home, Mode(mode))


def _root_python(target: Target, python_home: str, mode: Mode) -> TargetPython:
    """A Linux target's CPython, read from the root file system at `python_home`."""
    linux = find_linux_python(python_home, target)
    config = linux_config(linux, mode)
    flags = linux_link_args(linux, target, config.mode)
    include = ("-I", linux.rooted(linux.text("INCLUDEPY")))
    if linux.is_prefix:
        return TargetPython(config, linux.sysroot, tuple(flags), (include,), _floor(linux))
    # Debian's pyconfig.h includes <MULTIARCH/python3.X/pyconfig.h> from usr/include;
    # -idirafter: the cross compiler's own C headers come first.
    headers = (include, ("-idirafter", linux.rooted("/usr/include")))
    return TargetPython(config, linux.sysroot, tuple(flags), headers)


def _floor(linux: LinuxPython) -> str:
    """The glibc floor of the portable runtime at `linux`'s prefix."""
    from packager.python.portable import read_runtime

    runtime = read_runtime(linux.sysroot)
    if runtime is None:
        raise UsageError(
            "--python-home names an install prefix that is not a packager runtime",
            path=linux.sysroot,
            fix="build one with `packager runtime build --arch ARCH`, or pass a root file "
            "system: " + LINUX_ROOT_FIX,
        )
    return runtime.glibc_text


def _windows_python(target: Target, python_home: str, mode: Mode) -> TargetPython:
    """A Windows CPython home: dynamic only, through its python3XY.dll."""
    if mode is Mode.STATIC:
        raise UsageError(
            "a Windows program embeds CPython through python3XY.dll; the official "
            "builds have no static library",
            fix="drop --mode static (Windows builds are dynamic)",
        )
    windows = find_windows_python(python_home)
    return TargetPython(windows_config(windows), windows.home)


_PYTHON_SOURCES: dict[PythonSource, Callable[[Target, str, Mode], TargetPython]] = {
    PythonSource.TARGET_ROOT: _root_python,
    PythonSource.WINDOWS_HOME: _windows_python,
}
_HOME_FIXES = {
    PythonSource.TARGET_ROOT: LINUX_ROOT_FIX,
    PythonSource.WINDOWS_HOME: WINDOWS_HOME_FIX,
}


def build_for_target(
    crate: str | os.PathLike[str],
    *,
    target: str,
    environ: Mapping[str, str],
    python_home: str | None = None,
    mode: Mode | str = Mode.AUTO,
    release: bool = False,
    package: str | None = None,
    binary: str | None = None,
    echo: Echo | None = None,
    on_line: Echo | None = None,
) -> BuildOutcome:
    """Build `crate` for `target` with cargo; raise BuildFailed when cargo fails.

    `crate` may be a workspace: `package` and `binary` choose as cargo's -p and --bin do.
    """
    chosen = cross_target(target)
    selection = select_package(
        find_crate_dir(crate), package=package, binary=binary, environ=environ
    )
    crate_dir = selection.package.directory
    python = target_config(chosen, python_home=python_home, mode=mode)
    cargo = runner.require("cargo", environ, fix="install Rust with rustup (https://rustup.rs)")
    target_dir = selection.target_dir
    linker = _linker(chosen, python, target_dir, environ)
    config_file = (
        target_dir / "packager" / chosen.triple / f"pyo3-config-{python.config.mode.value}.txt"
    )
    write_text_if_changed(config_file, render(python.config))
    modules, generated = _generate_sources(crate_dir)
    argv = [cargo, "build", *selection.cargo_args()]
    argv += ["--target", chosen.triple, "--message-format=json-render-diagnostics"]
    if release:
        argv.append("--release")
    rustflags = [*python.rustflags, *_start_up(chosen, python, linker, target_dir, environ, echo)]
    binaries = run_cargo(
        argv,
        _cargo_environ(environ, chosen, config_file, linker, rustflags),
        crate_dir,
        echo=echo,
        on_line=on_line,
        what=f"cargo build --target {chosen.triple}",
    )
    python_names = tuple(module.python_name for module in modules)
    checked, notes = _checked(binaries, python_names, chosen, python)
    return BuildOutcome(
        crate_dir=str(crate_dir),
        binaries=tuple(binaries),
        mode=python.config.mode,
        python_version=python.config.version,
        interpreter=python.source,
        config_file=str(config_file),
        modules=python_names,
        dependency_modules=dependency_modules(selection),
        inittab_generated=generated,
        notes=notes,
        check=checked,
    )


def _linker(
    target: Target, python: TargetPython, target_dir: Path, environ: Mapping[str, str]
) -> str:
    """The C compiler that links for `target`: zig pinned to a portable runtime's glibc
    floor, else the target's cross compiler."""
    if python.glibc_floor is not None:
        from packager.python.portable.toolchain import find_zig, write_linker

        directory = str(target_dir / "packager")
        return write_linker(find_zig(environ), target.arch, python.glibc_floor, directory)
    return runner.require(
        target.linker or "cc", environ, fix=f"install the linker (Debian: apt-get install "
        f"{target.linker_package}) and `rustup target add {target.triple}`"
    )  # fmt: skip


def _generate_sources(crate_dir: Path) -> tuple[tuple[PyModuleDecl, ...], bool]:
    """The crate's #[pymodule]s, and whether its inittab is generated (then rewritten)."""
    modules = find_modules(crate_dir)
    generated = (crate_dir / "src" / INITTAB_FILE).exists()
    if generated:
        # The target's interpreter cannot be asked; the stdlib of the Python running
        # packager (3.11 or later) names what a #[pymodule] must not shadow.
        check_names(modules, reserved_names((), sorted(sys.stdlib_module_names)))
        write_inittab(crate_dir, modules)
    if (crate_dir / "src" / RUNTIME_FILE).exists():
        write_runtime(crate_dir)
    return modules, generated


def _checked(
    binaries: Sequence[str], python_names: tuple[str, ...], target: Target, python: TargetPython
) -> tuple[InspectResult, tuple[str, ...]]:
    """What `check` finds in the built programs, with the notes that go with it."""
    # A Linux target's libraries resolve in its root, as they would on the target.
    root = python.source if target.system is TargetSystem.LINUX else "/"
    inspected = inspect_paths(list(binaries), environ={}, jobs=1, root=root)
    return _bundled_later(check_result(inspected, expect_modules=python_names), target)


def _start_up(
    target: Target,
    python: TargetPython,
    linker: str,
    target_dir: Path,
    environ: Mapping[str, str],
    echo: Echo | None,
) -> list[str]:
    """rustc flags that link packager's start-up code, compiled by the target's compiler,
    into a Linux target's programs (as `packager build` does natively); none for Windows."""
    if target.system is not TargetSystem.LINUX:
        return []
    ar = runner.require(
        f"{target.multiarch}-ar", environ, fix=f"install {target.binutils_package} "
        f"(Debian: apt-get install {target.binutils_package})"
    )  # fmt: skip
    try:
        arguments = start_up_archive_args(
            python.headers, python.config.version, target_dir, environ, cc=linker, ar=ar, echo=echo
        )
    except ToolError as exc:
        headers = f"libc6-dev-{target.machine.deb}-cross"
        raise ToolError(
            f"{os.path.basename(linker)} could not compile packager's start-up code",
            output=exc.output,
            fix=f"install the cross compiler's C library headers (Debian: apt-get install "
            f"{headers})",
        ) from exc
    return [f"-Clink-arg={argument}" for argument in arguments]


def _bundled_later(result: InspectResult, target: Target) -> tuple[InspectResult, tuple[str, ...]]:
    """Drop the finding that python3XY.dll is not beside a Windows program: no build puts
    it there, `packager bundle` does; say so in a note instead."""
    if target.system is not TargetSystem.WINDOWS:
        return result, ()
    binaries = tuple(
        report._replace(findings=tuple(f for f in report.findings if f.code != DLL_NOT_BESIDE))
        for report in result.binaries
    )
    note = (
        "the program imports its python3XY.dll from its own folder: "
        f"`packager bundle --target {target.triple}` puts it there"
    )
    return result._replace(binaries=binaries), (note,)


def _cargo_environ(
    environ: Mapping[str, str],
    target: Target,
    config_file: Path,
    linker: str,
    ours: Sequence[str],
) -> dict[str, str]:
    cargo_environ = cross_environ(target, dict(environ), linker)
    for name in ("PYO3_PRINT_CONFIG", "PYO3_PYTHON", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"):
        cargo_environ.pop(name, None)
    if not cargo_environ.get("CARGO_TARGET_DIR"):
        cargo_environ.pop("CARGO_TARGET_DIR", None)  # cargo rejects an empty one
    cargo_environ["PYO3_CONFIG_FILE"] = str(config_file)
    flags = [*user_rustflags(environ), *ours]
    if flags:
        cargo_environ["CARGO_ENCODED_RUSTFLAGS"] = "\x1f".join(flags)
    return cargo_environ
