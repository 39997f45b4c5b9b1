"""The Python installations of this machine that tests use as subjects.

They are found the way packager finds interpreters (`packager.python.discovery`, facts from
`packager.python.interpreters.probe`), never at a fixed path. Candidates, in this order: the
running interpreter's own installation (the base one when the suite runs from a venv),
python3 and python3.X on PATH, every version pyenv has installed (`$PYENV_ROOT/versions`,
pyenv's own layout), then `pypy3` or `pypy` on PATH.

A machine that lacks a shape of installation the tests read gets one built from what it
has: `build_linked_cpython` compiles a python executable that links the machine's shared
libpython through an absolute RUNPATH, as pyenv's --enable-shared builds do.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from packager.binary import read_binary
from packager.core import runner
from packager.core.errors import PackagerError
from packager.crate.pyo3_config import config_for
from packager.python.discovery import discover
from packager.python.interpreters import Interpreter, probe

_RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"

INSTALL_SHARED = (
    f"install libpython{_RUNNING}-dev (Debian), or a CPython built with --enable-shared "
    "(pyenv: env PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.11)"
)
INSTALL_STATIC = (
    f"install libpython{_RUNNING}-dev (Debian: it ships libpython{_RUNNING}-pic.a), "
    "or a CPython with a static libpython (pyenv install 3.11)"
)
INSTALL_LINKED = (
    "install a CPython built with --enable-shared, whose python executable links its "
    "libpython (pyenv: env PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.11); "
    "Debian's python3 carries the interpreter inside the executable instead"
)
INSTALL_PYPY = "install pypy3 (Debian: apt-get install pypy3)"
INSTALL_SECOND = (
    "install a second CPython 3.8+ of another version with a shared libpython "
    "(pyenv: env PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.12)"
)
INSTALL_UNSTRIPPED = (
    f"install libpython{_RUNNING}-dbg (Debian: its debug build of libpython keeps its "
    "symbols), or a CPython built from source (pyenv install 3.11)"
)
INSTALL_TOOLCHAIN = f"install gcc and libpython{_RUNNING}-dev (Debian: apt-get install gcc)"


def _running_installation() -> str:
    """The executable of the installation running the tests, not a venv's link to it."""
    base = Path(sys.base_prefix) / "bin" / f"python{_RUNNING}"
    return str(base) if base.is_file() else sys.executable


def _pyenv_root(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def has_pyenv() -> bool:
    """Whether this machine has pyenv, which can install a CPython its distribution lacks."""
    return (_pyenv_root(os.environ) / "versions").is_dir()


def _pyenv_bin_dirs(environ: Mapping[str, str]) -> list[str]:
    root = _pyenv_root(environ)
    try:
        versions = sorted((root / "versions").iterdir())
    except OSError:
        return []
    return [str(version / "bin") for version in versions if (version / "bin").is_dir()]


@functools.cache
def installed_pythons() -> tuple[Interpreter, ...]:
    """Every Python installation found, each once, in the order of the module docstring."""
    environ = dict(os.environ)
    search = [environ.get("PATH", ""), *_pyenv_bin_dirs(environ)]
    environ["PATH"] = os.pathsep.join(search)
    found: dict[str, Interpreter] = {}
    for result in discover(environ, explicit=_running_installation()).found:
        if result.interpreter is not None:
            found.setdefault(os.path.realpath(result.interpreter.executable), result.interpreter)
    for name in ("pypy3", "pypy"):
        path = runner.which(name, environ)
        if path is None:
            continue
        try:
            interpreter = probe(path, environ)
        except PackagerError:
            continue
        found.setdefault(os.path.realpath(interpreter.executable), interpreter)
    return tuple(found.values())


def _listing() -> str:
    found = installed_pythons()
    if not found:
        return "none found"
    return "found: " + ", ".join(
        f"{item.path} ({item.implementation} {item.version})" for item in found
    )


def pick(
    description: str,
    install: str,
    accept: Callable[[Interpreter], bool],
    *,
    prefer: Callable[[Interpreter], bool] | None = None,
    built: Sequence[Interpreter] = (),
) -> Interpreter:
    """The first installation `accept` takes (those `prefer` likes first), the machine's before
    the `built` ones; else fail the test saying what to install."""
    candidates = [item for item in (*installed_pythons(), *built) if accept(item)]
    if prefer is not None:
        candidates.sort(key=lambda item: not prefer(item))
    if not candidates:
        pytest.fail(f"no {description} on this machine ({_listing()}): {install}")
    return candidates[0]


def can_link(interpreter: Interpreter, mode: str) -> bool:
    """Whether packager can write a `mode` ("dynamic", "static") PyO3 config for it."""
    if interpreter.embedding_problem is not None:
        return False
    try:
        config_for(interpreter, mode)
    except PackagerError:
        return False
    return True


def is_shared(interpreter: Interpreter) -> bool:
    """A CPython 3.8+ whose shared libpython a dynamic build links (Py_ENABLE_SHARED)."""
    return interpreter.enable_shared and can_link(interpreter, "dynamic")


def is_static(interpreter: Interpreter) -> bool:
    """A CPython 3.8+ with a static libpython archive that a static build links."""
    return bool(interpreter.static_archives) and can_link(interpreter, "static")


def has_pic_archive(interpreter: Interpreter) -> bool:
    """Its preferred archive is position-independent by name (Debian's libpython3.X-pic.a)."""
    return str(interpreter.static_archive).endswith("-pic.a")


def real_executable(interpreter: Interpreter) -> str:
    """The file the interpreter runs from, through any symlinks."""
    return os.path.realpath(interpreter.executable)


def another_installation(interpreter: Interpreter, first: Interpreter) -> bool:
    """A different installation than `first`: its executable is another file."""
    return real_executable(interpreter) != real_executable(first)


def another_version(interpreter: Interpreter, first: Interpreter) -> bool:
    """A different installation than `first`, of another version, so tests tell them apart
    by what they report."""
    return another_installation(interpreter, first) and interpreter.version != first.version


def _needed_by_executable(interpreter: Interpreter) -> tuple[str, ...]:
    try:
        _, images = read_binary(real_executable(interpreter))
    except PackagerError:
        return ()
    return tuple(name for image in images for name in image.needed)


def links_its_libpython(interpreter: Interpreter) -> bool:
    """Its python executable needs its own shared libpython (an --enable-shared build)."""
    if interpreter.implementation != "cpython" or interpreter.instsoname is None:
        return False
    return interpreter.instsoname in _needed_by_executable(interpreter)


def links_its_runtime(interpreter: Interpreter) -> bool:
    """Its executable is a small launcher of a shared library: an --enable-shared CPython's,
    or PyPy's (which needs libpypy3.X-c.so)."""
    if interpreter.implementation == "pypy":
        return any(name.startswith("libpypy") for name in _needed_by_executable(interpreter))
    return links_its_libpython(interpreter)


def shared_libpythons() -> list[Interpreter]:
    """Every CPython 3 installation that has a shared libpython, whatever its version."""
    return [
        item
        for item in installed_pythons()
        if item.implementation == "cpython" and item.major == 3 and item.shared_library
    ]


def sysconfig_of(interpreter: Interpreter) -> dict[str, str]:
    """Some of its sysconfig variables, its include directory and its version, asked of the
    interpreter itself: an answer that does not go through packager's probe."""
    script = (
        "import json, platform, sysconfig\n"
        "names = ('LIBDIR', 'INSTSONAME', 'LDVERSION', 'LIBPL', 'LIBRARY', 'LIBS', 'SYSLIBS',\n"
        "         'MODLIBS')\n"
        "found = {name: str(sysconfig.get_config_var(name)) for name in names}\n"
        "found['include'] = sysconfig.get_paths()['include']\n"
        "found['version'] = platform.python_version()\n"
        "print(json.dumps(found))\n"
    )
    completed = subprocess.run(
        [interpreter.path, "-I", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, str] = json.loads(completed.stdout)
    return answer


# CPython's own Programs/python.c: the executable is this, linked with libpython.
PYTHON_MAIN = """#include <Python.h>
int main(int argc, char **argv) { return Py_BytesMain(argc, argv); }
"""


def build_linked_cpython(base: Interpreter, prefix: Path) -> Interpreter:
    """A CPython executable `prefix/bin/pythonX.Y` compiled against `base`'s shared libpython,
    which it links through an absolute RUNPATH to `base`'s LIBDIR: the shape of pyenv's
    --enable-shared python. It runs `base`'s libpython, stdlib and sysconfig."""
    own = sysconfig_of(base)
    bin_dir = prefix / "bin"
    bin_dir.mkdir(parents=True)
    source = prefix / "python.c"
    source.write_text(PYTHON_MAIN)
    executable = bin_dir / f"python{base.short_version}"
    command = [
        "gcc", "-o", str(executable), str(source), "-I", own["include"],
        "-L", own["LIBDIR"], f"-lpython{own['LDVERSION']}",
        f"-Wl,-rpath,{own['LIBDIR']}", "-Wl,--enable-new-dtags",
    ]  # fmt: skip
    try:
        built = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except OSError as error:
        pytest.fail(f"cannot run gcc ({error}): {INSTALL_TOOLCHAIN}")
    if built.returncode != 0:
        pytest.fail(
            f"gcc cannot build {executable}: {built.stderr.strip()[-500:]}: {INSTALL_TOOLCHAIN}"
        )
    return probe(str(executable), dict(os.environ))
