"""Where Python interpreters are found, and which one a build uses.

Candidates come, in order, from --python, PYO3_PYTHON, an active venv, then python3 and
python3.X on PATH; `interpreters.probe` tells what each one is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packager import runner
from packager.errors import InterpreterError
from packager.interpreters import Interpreter, probe, require_embeddable
from packager.portable.store import find_runtime_interpreter

_VERSIONED_PYTHON = re.compile(r"python3\.(\d+)")


@dataclass(frozen=True)
class Candidate:
    """A path that may be a Python interpreter, and why it was considered."""

    path: str
    source: str  # "--python", "PYO3_PYTHON", "VIRTUAL_ENV" or "PATH"


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
    for candidate in find_interpreters(environ, explicit):
        if candidate.source != "PATH":
            interpreter = probe(candidate.path, environ, cache_dir=cache_dir)
            require_embeddable(interpreter)
            return interpreter
        try:
            interpreter = probe(candidate.path, environ, cache_dir=cache_dir)
        except InterpreterError as exc:
            reasons.append(str(exc))
            continue
        if interpreter.embedding_problem is None:
            return interpreter
        reasons.append(f"{candidate.path}: {interpreter.embedding_problem}")
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


def discover(environ: Mapping[str, str], explicit: str | None = None) -> list[Discovered]:
    """Probe every candidate; interpreters reached by several paths are listed once."""
    results: list[Discovered] = []
    seen: set[str] = set()
    for candidate in find_interpreters(environ, explicit):
        try:
            interpreter = probe(candidate.path, environ)
        except InterpreterError as exc:
            results.append(Discovered(candidate, None, exc.message))
            continue
        key = os.path.realpath(interpreter.executable)
        if key not in seen:
            seen.add(key)
            results.append(Discovered(candidate, interpreter, None))
    return results


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
