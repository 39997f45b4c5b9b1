"""Where Python interpreters are found, and which one a build uses.

Candidates come, in order, from --python, PYO3_PYTHON, an active venv, then python3 and
python3.X on PATH; `interpreters.probe` tells what each one is. Listing all of them
(`discover`) also finds pyenv's installations under $PYENV_ROOT/versions.

A pyenv shim on PATH runs whichever installation pyenv selects; for a version not
selected it fails with "pyenv: python3.X: command not found". Such a shim is not a
broken interpreter: the build skips it, the listing leaves it out with a note, and the
installation behind it is listed by its own path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packager.core import runner
from packager.core.errors import InterpreterError
from packager.python.interpreters import Interpreter, probe, require_embeddable
from packager.python.portable.store import find_runtime_interpreter

_VERSIONED_PYTHON = re.compile(r"python3\.(\d+)")
_ANY_VERSIONED_PYTHON = re.compile(r"python\d+\.\d+")
# The line every pyenv shim ends with: exec "$PYENV_ROOT/libexec/pyenv" exec "$program" "$@".
_PYENV_SHIM_LINE = re.compile(rb'exec "[^"\n]*/libexec/pyenv" exec ')


@dataclass(frozen=True)
class Candidate:
    """A path that may be a Python interpreter, and why it was considered."""

    path: str
    source: str  # "--python", "PYO3_PYTHON", "VIRTUAL_ENV", "PATH" or "pyenv"


def find_interpreters(environ: Mapping[str, str], explicit: str | None = None) -> list[Candidate]:
    """Candidate interpreters in priority order, deduplicated by real path."""
    found: list[Candidate] = []
    if explicit:
        found.append(Candidate(_resolve_command(explicit, environ), "--python"))
    pyo3_python = environ.get("PYO3_PYTHON")
    if pyo3_python:
        found.append(Candidate(_resolve_command(pyo3_python, environ), "PYO3_PYTHON"))
    venv = environ.get("VIRTUAL_ENV")
    if venv:
        found.append(Candidate(os.path.join(venv, "bin", "python"), "VIRTUAL_ENV"))
    found.extend(Candidate(path, "PATH") for path in _path_pythons(environ))
    seen: set[str] = set()
    unique: list[Candidate] = []
    for candidate in found:
        key = os.path.realpath(candidate.path)
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique


def select_interpreter(
    environ: Mapping[str, str], explicit: str | None = None, *, cache_dir: Path | None = None
) -> Interpreter:
    """The interpreter a build uses: the first explicit choice, else the first usable on PATH.

    An explicit choice (--python, PYO3_PYTHON, an active venv) is binding, as it is for
    PyO3 itself: if it cannot be probed or embedded, that is an error, not a fallback.
    """
    reasons: list[str] = []
    unselected_shims = 0
    for candidate in find_interpreters(environ, explicit):
        if candidate.source != "PATH":
            interpreter = probe(candidate.path, environ, cache_dir=cache_dir)
            require_embeddable(interpreter)
            return interpreter
        try:
            interpreter = probe(candidate.path, environ, cache_dir=cache_dir)
        except InterpreterError as exc:
            if is_pyenv_shim(candidate.path):
                unselected_shims += 1
            else:
                reasons.append(str(exc))
            continue
        if interpreter.embedding_problem is None:
            return interpreter
        reasons.append(f"{candidate.path}: {interpreter.embedding_problem}")
    if unselected_shims:
        reasons.append(f"{unselected_shims} pyenv shim(s) for versions pyenv has not selected")
    detail = "; ".join(reasons) if reasons else "no python3 or python3.X on PATH"
    raise InterpreterError(
        f"no usable Python interpreter found ({detail})",
        fix="pass --python /path/to/python3.X or set PYO3_PYTHON",
    )


@dataclass(frozen=True)
class Discovered:
    """One candidate and what probing it gave: an interpreter or the reason it failed."""

    candidate: Candidate
    interpreter: Interpreter | None
    error: str | None


@dataclass(frozen=True)
class Discovery:
    """Every interpreter found, and one-line notes on what was left out and why."""

    found: tuple[Discovered, ...]
    notes: tuple[str, ...]


def discover(environ: Mapping[str, str], explicit: str | None = None) -> Discovery:
    """Probe every candidate and every pyenv installation; each interpreter is listed once.

    A pyenv shim that cannot run (its version is not selected) is left out with a note:
    the installation behind it is found under $PYENV_ROOT/versions.
    """
    results: list[Discovered] = []
    unselected_shims: list[str] = []
    seen: set[str] = set()
    candidates = find_interpreters(environ, explicit)
    known = {os.path.realpath(candidate.path) for candidate in candidates}
    for path in pyenv_installations(environ):
        if os.path.realpath(path) not in known:
            candidates.append(Candidate(path, "pyenv"))
    for candidate in candidates:
        try:
            interpreter = probe(candidate.path, environ)
        except InterpreterError as exc:
            if candidate.source == "PATH" and is_pyenv_shim(candidate.path):
                unselected_shims.append(os.path.basename(candidate.path))
            else:
                results.append(Discovered(candidate, None, exc.message))
            continue
        key = os.path.realpath(interpreter.executable)
        if key not in seen:
            seen.add(key)
            results.append(Discovered(candidate, interpreter, None))
    notes = []
    if unselected_shims:
        notes.append(
            f"left out pyenv shims for versions pyenv has not selected "
            f"({', '.join(unselected_shims)}); their installations are listed by path"
        )
    return Discovery(tuple(results), tuple(notes))


def pyenv_root(environ: Mapping[str, str]) -> str | None:
    """$PYENV_ROOT, else ~/.pyenv (home from the environment), or None without either."""
    root = environ.get("PYENV_ROOT")
    if root:
        return root
    home = environ.get("HOME")
    return os.path.join(home, ".pyenv") if home else None


def pyenv_installations(environ: Mapping[str, str]) -> list[str]:
    """The interpreter of each $PYENV_ROOT/versions/* installation, newest version first.

    Each is the versioned pythonX.Y in the installation's bin/ (else python3, else python).
    """
    root = pyenv_root(environ)
    if root is None:
        return []
    versions = os.path.join(root, "versions")
    try:
        names = sorted(os.listdir(versions), key=_version_sort_key, reverse=True)
    except OSError:
        return []
    found = []
    for name in names:
        executable = _installation_executable(os.path.join(versions, name, "bin"))
        if executable is not None:
            found.append(executable)
    return found


def is_pyenv_shim(path: str) -> bool:
    """True when `path` is a pyenv shim: a small script handing its name to `pyenv exec`."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(2048)
    except OSError:
        return False
    return head.startswith(b"#!") and _PYENV_SHIM_LINE.search(head) is not None


def _version_sort_key(name: str) -> tuple[tuple[int, ...], str]:
    return tuple(int(part) for part in re.findall(r"\d+", name)), name


def _installation_executable(bin_dir: str) -> str | None:
    try:
        names = os.listdir(bin_dir)
    except OSError:
        return None
    preferred = sorted(name for name in names if _ANY_VERSIONED_PYTHON.fullmatch(name))
    preferred += ["python3", "python"]
    for name in preferred:
        path = os.path.join(bin_dir, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _resolve_command(command: str, environ: Mapping[str, str]) -> str:
    """A bare name such as `python3.11` is looked up on PATH; a path is made absolute."""
    runtime = find_runtime_interpreter(command, environ)  # runtime:3.11, a built runtime
    if runtime is not None:
        return runtime
    if os.sep in command:
        return os.path.abspath(command)
    return runner.which(command, environ) or command


def _path_pythons(environ: Mapping[str, str]) -> list[str]:
    """`python3` then every `python3.X` on PATH (newest minor first within a directory)."""
    plain = runner.which("python3", environ)
    result = [plain] if plain else []
    for directory in environ.get("PATH", "").split(os.pathsep):
        if not directory:
            continue  # an empty entry means the current directory: never search it
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        versioned = sorted(
            (int(match.group(1)), name)
            for name in names
            if (match := _VERSIONED_PYTHON.fullmatch(name))
        )
        for _, name in reversed(versioned):
            path = os.path.join(directory, name)
            if os.access(path, os.X_OK) and os.path.isfile(path):
                result.append(path)
    return result
