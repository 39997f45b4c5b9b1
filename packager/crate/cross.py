"""The PyO3 config and linker flags of a cross build, from the target's CPython.

The config is the one PyO3's build script derives itself under `PYO3_CROSS_LIB_DIR` and
`PYO3_CROSS_PYTHON_VERSION` (it never runs the target's interpreter), written to a config
file so every build sees the same. The targets themselves are `packager.targets`.
"""

from __future__ import annotations

import os

from packager.core.errors import InterpreterError
from packager.crate.pyo3_config import STATIC_BINARY_LINK_ARGS, Mode, PyO3Config
from packager.python.target_root import LinuxPython
from packager.python.windows_home import WindowsPython
from packager.targets import Target


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


def cross_environ(target: Target, environ: dict[str, str], linker: str) -> dict[str, str]:
    """`environ` with cargo told which linker the target uses, unless the user chose one."""
    result = dict(environ)
    result.setdefault(target.linker_variable, linker)
    return result


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


def linux_link_args(python: LinuxPython, target: Target, mode: Mode) -> list[str]:
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
