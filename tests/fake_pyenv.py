"""A pyenv root made in a test's tmp_path from the machine's real interpreters.

The interpreters are the ones `tests.pythons` finds (never a hard-coded path); each
versions/NAME/bin holds the interpreter's pythonX.Y as a link to it, as an installation
does. Discovering `$PYENV_ROOT/versions/*/bin` needs no pyenv program. The shims do: the
real pyenv writes them (`pyenv rehash`) where it is installed; elsewhere (Debian packages
no pyenv) this module writes them as pyenv does, with a `libexec/pyenv` that runs
`pyenv exec` the way pyenv 2 does, down to its failure for a command no selected version
has: `pyenv: python3.10: command not found`, exit 127.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from packager.python.discovery import pyenv_installations, pyenv_root
from packager.python.interpreters import Interpreter
from tests.pythons import INSTALL_PYPY, INSTALL_SHARED, installed_pythons

# The PATH `pyenv rehash` runs with (bash and coreutils).
SYSTEM_PATH = "/usr/bin:/bin"

INSTALL_PYTHON2 = (
    "needs a Python 2 interpreter: `pyenv install 2.7.18`, or jython "
    "(Debian 12's only Python 2: apt-get install jython)"
)


@dataclass(frozen=True)
class Installed:
    """An interpreter to place in a pyenv root, and the versioned command it has there."""

    executable: str
    command: str  # "python3.12"


def installed(interpreter: Interpreter) -> Installed:
    """`interpreter` as a pyenv installation holds it: bin/pythonX.Y."""
    return Installed(interpreter.executable, f"python{interpreter.short_version}")


def version_name(interpreter: Interpreter) -> str:
    """The name of its folder under versions/: "3.12.1", or "pypy3.9.16" for PyPy."""
    if interpreter.implementation == "cpython":
        return interpreter.version
    return f"{interpreter.implementation}{interpreter.version}"


def pyenv_pair() -> tuple[Interpreter, Interpreter]:
    """Two Pythons of different minor versions: the one a test selects, and an embeddable
    CPython it leaves unselected. Both CPythons where the machine has two minor versions
    (pyenv's); else the selected one is PyPy (Debian: pypy3)."""
    found = installed_pythons()
    unselected = next((item for item in found if item.embedding_problem is None), None)
    if unselected is None:
        pytest.fail(f"needs an embeddable CPython 3.8+: {INSTALL_SHARED}")
    others = [
        item for item in found if item.major == 3 and item.short_version != unselected.short_version
    ]
    others.sort(
        key=lambda item: (item.implementation != "cpython", item.embedding_problem is not None)
    )
    if not others:
        pytest.fail(
            f"needs a Python of another minor version than {unselected.short_version}: "
            f"{INSTALL_PYPY}, or `pyenv install 3.12`"
        )
    return others[0], unselected


def _major_minor(executable: str) -> str | None:
    """ "2.7" for a Python 2.7, asked of the interpreter itself; None when it does not run."""
    try:
        completed = subprocess.run(
            [executable, "-c", "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except OSError:
        return None
    return completed.stdout if completed.returncode == 0 else None


@functools.cache
def python2() -> Installed:
    """A Python 2 interpreter: pyenv's python2.X where pyenv has one, else one on PATH."""
    environ = dict(os.environ)
    candidates = [
        path
        for path in pyenv_installations(environ)
        if os.path.basename(path).startswith("python2.")
    ]
    for name in ("python2.7", "python2", "pypy", "jython"):
        found = shutil.which(name)
        if found is not None:
            candidates.append(found)
    for path in candidates:
        version = _major_minor(path)
        if version is not None and version.startswith("2."):
            return Installed(path, f"python{version}")
    pytest.fail(f"{INSTALL_PYTHON2} (tried {candidates or 'nothing found'})")


def path_without_python(bin_dir: Path) -> str:
    """A PATH of one new directory linking every SYSTEM_PATH program but the Pythons: pyenv
    falls back to the system's command of a shim's name, which must not be there."""
    bin_dir.mkdir(parents=True)
    for directory in SYSTEM_PATH.split(os.pathsep):
        for entry in os.scandir(directory):
            target = bin_dir / entry.name
            if not entry.name.startswith("python") and not target.exists():
                target.symlink_to(entry.path)
    return str(bin_dir)


def pyenv_environ(root: Path, selected: str, bin_dir: Path) -> dict[str, str]:
    """The environment of a shell whose pyenv has `selected` chosen: the shims first on a
    PATH without any other Python. PYENV_VERSION decides alone: no .python-version file
    of the working directory counts."""
    return {
        "PATH": f"{root / 'shims'}{os.pathsep}{path_without_python(bin_dir)}",
        "PYENV_ROOT": str(root),
        "PYENV_VERSION": selected,
        "HOME": str(root.parent),
    }


def real_pyenv() -> str | None:
    """The pyenv program: on PATH, or in $PYENV_ROOT (~/.pyenv) where its installer puts it."""
    found = shutil.which("pyenv")
    root = pyenv_root(dict(os.environ))
    if found is None and root is not None:
        candidate = os.path.join(root, "bin", "pyenv")
        found = candidate if os.access(candidate, os.X_OK) else None
    return found


def make_root(root: Path, versions: Mapping[str, Installed]) -> Path:
    """A pyenv root at `root` with each version name -> interpreter, and its shims."""
    for name, interpreter in versions.items():
        bin_dir = root / "versions" / name / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / interpreter.command).symlink_to(os.path.realpath(interpreter.executable))
    pyenv = real_pyenv()
    if pyenv is None:
        _write_shims(root)
    else:
        environ = {"PATH": SYSTEM_PATH, "PYENV_ROOT": str(root), "HOME": str(root)}
        subprocess.run([pyenv, "rehash"], env=environ, check=True, capture_output=True)
    return root


# pyenv-rehash's prototype shim, with the root and the program that runs `pyenv exec`.
_SHIM = """#!/usr/bin/env bash
set -e
[ -n "$PYENV_DEBUG" ] && set -x

program="${{0##*/}}"

export PYENV_ROOT="{root}"
SHIM_PATH=${{0%/*}}
if [[ $SHIM_PATH != "{root}/shims" ]]; then
  export _PYENV_SHIM_PATH="$SHIM_PATH"
fi
exec "{pyenv}" exec "$program" "$@"
"""

# `pyenv exec COMMAND ARGS...` as pyenv-exec and pyenv-which run it: the first selected
# version (PYENV_VERSION, else $PYENV_ROOT/version, else "system") that has COMMAND, then
# the system's PATH without the shims; else pyenv's failure.
_PYENV_EXEC = """#!/usr/bin/env bash
set -e
if [ "$1" != exec ]; then
  echo "pyenv: no such command \\`$1'" >&2
  exit 1
fi
command="$2"
shift 2
selected="${PYENV_VERSION:-$(cat "$PYENV_ROOT/version" 2>/dev/null || echo system)}"
IFS=: read -r -a versions <<<"$selected"
for version in "${versions[@]}" system; do
  if [ "$version" = system ]; then
    search=":$PATH:" shims=":$PYENV_ROOT/shims:"
    search="${search//"$shims"/:}"
    found="$(PATH="${search:1:${#search}-2}" command -v "$command" || true)"
  else
    found="$PYENV_ROOT/versions/$version/bin/$command"
  fi
  if [ -x "$found" ]; then
    [ "$version" = system ] || export PATH="${found%/*}:$PATH"
    exec "$found" "$@"
  fi
done
echo "pyenv: $command: command not found" >&2
exit 127
"""


def _write_shims(root: Path) -> None:
    """What `pyenv rehash` writes: one shim per program of every installed version."""
    pyenv = root / "libexec" / "pyenv"
    pyenv.parent.mkdir(parents=True)
    pyenv.write_text(_PYENV_EXEC)
    pyenv.chmod(0o755)
    shims = root / "shims"
    shims.mkdir()
    for program in sorted({path.name for path in root.glob("versions/*/bin/*")}):
        shim = shims / program
        shim.write_text(_SHIM.format(root=root, pyenv=pyenv))
        shim.chmod(0o755)
