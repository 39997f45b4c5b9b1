"""Which Python installation a bundle takes its libpython and standard library from.

The standard library must come from the same build as the libpython the binary runs with:
for a dynamic binary, the interpreter whose shared libpython is the very file the binary
resolves; for a static one, an interpreter of the version compiled into it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packager.binary.model import BinaryReport, LinkMode
from packager.core import runner
from packager.core.cache import cache_key, file_identity
from packager.core.errors import InterpreterError, ToolError
from packager.core.fsutil import atomic_write_text
from packager.python.discovery import find_interpreters
from packager.python.interpreters import Interpreter, probe
from packager.python.portable.store import find_runtime_interpreter


@dataclass(frozen=True)
class PythonRuntime:
    """An interpreter and the directories a bundle copies from it."""

    interpreter: Interpreter
    stdlib_dir: str  # pure-Python modules (sysconfig "stdlib")
    dynload_dir: str  # compiled stdlib extension modules (platstdlib/lib-dynload)
    libpython: str | None  # the shared libpython to ship (dynamic binaries), a real path
    site_packages: str  # where this stdlib's site.py looks, relative to the prefix
    machine: str | None = None  # the machine its ELF files are for, as inspect names it

    @property
    def version_dir(self) -> str:
        """The directory name under lib/ where CPython looks for its stdlib: "python3.11"."""
        return f"python{self.interpreter.short_version}"


def find_runtime(
    report: BinaryReport,
    *,
    environ: Mapping[str, str],
    explicit: str | None = None,
    cache_dir: str | None = None,
) -> PythonRuntime:
    """The runtime for the binary in `report`; `explicit` (--python) is used as given.

    With `cache_dir`, what each interpreter answered is kept there for the next run.
    """
    wanted = _short_version(report.python_version)
    libpython = _resolved_libpython(report)
    probe_cache = Path(cache_dir, "probe") if cache_dir else None
    if explicit is not None:
        explicit = find_runtime_interpreter(explicit, environ) or explicit  # runtime:3.11
        interpreter = probe(explicit, environ, cache_dir=probe_cache)
        _require_version(interpreter, wanted, report.path)
        return _runtime(interpreter, report, libpython, cache_dir)
    tried: list[str] = []
    fallback: Interpreter | None = None
    for path in _candidates(report, environ, wanted, libpython):
        try:
            interpreter = probe(path, environ, cache_dir=probe_cache)
        except InterpreterError:
            continue
        tried.append(f"{path} ({interpreter.version})")
        if wanted is not None and interpreter.short_version != wanted:
            continue
        if libpython is not None and _same_file(interpreter.shared_library, libpython):
            return _runtime(interpreter, report, libpython, cache_dir)
        if libpython is None and report.python_version == interpreter.version:
            return _runtime(interpreter, report, libpython, cache_dir)
        fallback = fallback or interpreter
    if fallback is not None:
        # No exact match (a static binary of another patch release, or a libpython that
        # belongs to no interpreter found): the same 3.X series shares one stdlib layout.
        return _runtime(fallback, report, libpython, cache_dir)
    detail = "; tried " + ", ".join(tried) if tried else ""
    raise InterpreterError(
        f"no Python {wanted or ''} interpreter found to take the standard library from{detail}",
        path=report.path,
        fix="pass the interpreter the binary was built against with --python",
    )


def _runtime(
    interpreter: Interpreter, report: BinaryReport, libpython: str | None, cache_dir: str | None
) -> PythonRuntime:
    stdlib = interpreter.stdlib
    if not stdlib or not os.path.isfile(os.path.join(stdlib, "os.py")):
        raise InterpreterError(
            f"the interpreter's standard library was not found (sysconfig stdlib: {stdlib})",
            path=interpreter.path,
            fix="choose a complete CPython installation with --python",
        )
    dynload = os.path.join(interpreter.platstdlib or stdlib, "lib-dynload")
    if not os.path.isdir(dynload):
        raise InterpreterError(
            f"the interpreter has no lib-dynload directory ({dynload})",
            path=interpreter.path,
            fix="choose a complete CPython installation with --python",
        )
    if report.link_mode is LinkMode.DYNAMIC and libpython is None:
        libpython = interpreter.shared_library
        if libpython is None:
            name = report.libpython.name if report.libpython else "libpython"
            raise InterpreterError(
                f"the binary needs {name}, which resolves nowhere on this host, and the "
                "interpreter has no shared libpython either",
                path=report.path,
                fix="pass an interpreter built with --enable-shared with --python",
            )
    site_packages = _cached_site_packages_dir(interpreter, cache_dir)
    return PythonRuntime(
        interpreter, stdlib, dynload, libpython, site_packages, machine=report.arch
    )


_ROOT = "/@packager-prefix@"


def _cached_site_packages_dir(interpreter: Interpreter, cache_dir: str | None) -> str:
    """site_packages_dir, remembered in `cache_dir` per interpreter file version."""
    if cache_dir is None:
        return site_packages_dir(interpreter)
    identity = file_identity(interpreter.executable)
    path = Path(cache_dir, "site-packages", f"{cache_key(identity)}.txt")
    try:
        remembered = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        remembered = ""
    if _is_site_packages_path(remembered):
        return remembered
    found = site_packages_dir(interpreter)  # and a damaged or hostile record is replaced
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, found)
    except OSError:
        pass  # an unwritable cache only costs the next run one more question
    return found


def _is_site_packages_path(text: str) -> bool:
    """Whether `text` is what site_packages_dir answers: a plain relative path under lib/
    (a record read back from the cache is data, never a way out of the tree)."""
    parts = text.split("/")
    plain = all(part not in ("", ".", "..") for part in parts)
    return parts[0] == "lib" and len(parts) > 1 and plain and text.isprintable()


def site_packages_dir(interpreter: Interpreter, *, stdlib_dir: str | None = None) -> str:
    """The site-packages directory this stdlib's site.py adds for a prefix, relative to it.

    Distributions patch site.py (Debian's adds lib/python3.X/dist-packages, not
    site-packages), so the interpreter itself is asked; with `stdlib_dir` (another root's
    stdlib of the same version), it answers with that stdlib's site.py.
    """
    first = f"import sys; sys.path.insert(0, {stdlib_dir!r}); " if stdlib_dir else ""
    script = f"{first}import json, site; print(json.dumps(site.getsitepackages([{_ROOT!r}])))"
    try:
        result = runner.run([interpreter.executable, "-I", "-S", "-c", script], environ={})
        paths = [str(path) for path in json.loads(result.stdout.strip().splitlines()[-1])]
    except (ToolError, ValueError, IndexError) as exc:
        raise InterpreterError(
            f"cannot ask the interpreter where its site-packages are: {exc}",
            path=interpreter.path,
            fix="choose a working CPython installation with --python",
        ) from exc
    versioned = f"{_ROOT}/lib/python{interpreter.short_version}/"
    for path in [p for p in paths if p.startswith(versioned)] + paths:
        if path.startswith(f"{_ROOT}/lib/"):
            return path[len(_ROOT) + 1 :]
    raise InterpreterError(
        f"the interpreter's site.py adds no directory under lib/ ({paths})",
        path=interpreter.path,
        fix="choose a CPython installation with a standard site.py with --python",
    )


def _candidates(
    report: BinaryReport, environ: Mapping[str, str], wanted: str | None, libpython: str | None
) -> list[str]:
    paths: list[str] = []
    if wanted is not None:
        if libpython is not None:
            # A prefix install keeps bin/ beside lib/ (pyenv, /usr/local, /opt/python).
            prefix = os.path.dirname(os.path.dirname(libpython))
            paths.append(os.path.join(prefix, "bin", f"python{wanted}"))
        paths.append(f"/usr/bin/python{wanted}")
    paths.extend(candidate.path for candidate in find_interpreters(environ))
    unique: list[str] = []
    for path in paths:
        if os.path.exists(path) and path not in unique:
            unique.append(path)
    return unique


def _require_version(interpreter: Interpreter, wanted: str | None, binary: str) -> None:
    if wanted is not None and interpreter.short_version != wanted:
        raise InterpreterError(
            f"the binary embeds Python {wanted} but this interpreter is {interpreter.version}",
            path=interpreter.path,
            fix=f"pass a python{wanted} interpreter with --python (binary: {binary})",
        )


def _resolved_libpython(report: BinaryReport) -> str | None:
    if report.libpython is None or report.libpython.resolved_path is None:
        return None
    return os.path.realpath(report.libpython.resolved_path)


def _short_version(version: str | None) -> str | None:
    if not version:
        return None
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None


def _same_file(first: str | None, second: str) -> bool:
    return first is not None and os.path.realpath(first) == os.path.realpath(second)
