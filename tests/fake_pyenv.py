"""A pyenv root made in a test's tmp_path: real interpreters, shims made by the real pyenv.

The interpreters are found at run time through packager's own discovery (never a
hard-coded path); the root's versions/*/bin hold symlinks to them, and `pyenv rehash`
writes the shims exactly as it does for users.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.discovery import find_interpreters, pyenv_installations
from packager.errors import InterpreterError
from packager.interpreters import Interpreter, probe


def require_pyenv() -> str:
    """The real pyenv program; the test fails with what to install when it is missing."""
    found = shutil.which("pyenv")
    if found is None:
        pytest.fail("pyenv is not on PATH: install it (git clone of pyenv into ~/.pyenv)")
    return found


def machine_interpreters() -> list[Interpreter]:
    """Every interpreter this machine's discovery finds (PATH and pyenv), probed once each."""
    environ = dict(os.environ)
    paths = [c.path for c in find_interpreters(environ)] + pyenv_installations(environ)
    found: dict[str, Interpreter] = {}
    for path in paths:
        try:
            interpreter = probe(path, environ)
        except InterpreterError:
            continue  # a shim of a version not selected, or an interpreter too old to probe
        found.setdefault(os.path.realpath(interpreter.executable), interpreter)
    return list(found.values())


# The PATH a test's pyenv runs with (bash and coreutils); pyenv falls back to a command
# of the same name found there, so the pair's versions must not be on it.
SYSTEM_PATH = "/usr/bin:/bin"


def embeddable_pair() -> tuple[Interpreter, Interpreter]:
    """Two embeddable CPython interpreters of different minor versions, neither on SYSTEM_PATH."""
    by_minor: dict[str, Interpreter] = {}
    for interpreter in machine_interpreters():
        name = f"python{interpreter.short_version}"
        if interpreter.embedding_problem is None and not shutil.which(name, path=SYSTEM_PATH):
            by_minor.setdefault(interpreter.short_version, interpreter)
    if len(by_minor) < 2:
        pytest.fail(
            "needs two CPython 3.8+ minor versions besides the system's "
            "(e.g. `pyenv install 3.12 3.13`)"
        )
    first, second = sorted(by_minor)[:2]
    return by_minor[first], by_minor[second]


def shared_pyenv_style() -> Interpreter:
    """An embeddable --enable-shared CPython of its own prefix (not a system one), as pyenv
    builds them: libpython in PREFIX/lib, found through an absolute rpath."""
    for interpreter in embeddable_pair():
        if interpreter.shared_library and interpreter.libdir == f"{interpreter.base_prefix}/lib":
            return interpreter
    pytest.fail("needs a CPython 3.8+ built with --enable-shared (e.g. `pyenv install 3.12`)")


def python2_executable() -> str:
    """A Python 2 interpreter found among pyenv's installations."""
    for path in pyenv_installations(dict(os.environ)):
        if os.path.basename(path).startswith("python2."):
            return path
    pytest.fail("needs a Python 2 interpreter under pyenv: `pyenv install 2.7.18`")


def path_without_python(bin_dir: Path) -> str:
    """A PATH of one new directory linking every SYSTEM_PATH program but the Pythons."""
    bin_dir.mkdir(parents=True)
    for directory in SYSTEM_PATH.split(os.pathsep):
        for entry in os.scandir(directory):
            target = bin_dir / entry.name
            if not entry.name.startswith("python") and not target.exists():
                target.symlink_to(entry.path)
    return str(bin_dir)


def make_root(root: Path, versions: dict[str, str]) -> Path:
    """A pyenv root at `root` with each version name -> interpreter path, and its shims."""
    for name, executable in versions.items():
        bin_dir = root / "versions" / name / "bin"
        bin_dir.mkdir(parents=True)
        real = os.path.realpath(executable)  # named pythonX.Y, as in an installation
        (bin_dir / os.path.basename(real)).symlink_to(real)
    environ = {"PATH": SYSTEM_PATH, "PYENV_ROOT": str(root), "HOME": str(root)}
    subprocess.run([require_pyenv(), "rehash"], env=environ, check=True, capture_output=True)
    return root
