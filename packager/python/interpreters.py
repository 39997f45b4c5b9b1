"""What a Python installation is: its build facts, probed in a subprocess.

A probe runs the interpreter itself (never parses its files), because sysconfig is the
only source that knows where *that* build put libpython, its static archive and the
system libraries the archive needs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packager.core import cache, runner
from packager.core.errors import InterpreterError, ToolError

# PyO3 0.29's floor for CPython (pyo3-build-config MINIMUM_SUPPORTED_VERSION).
MIN_EMBED_VERSION = (3, 8)
# The newest PyO3 release that still supported an older minor version, for the message
# that says so: 0.16 dropped 3.6, 0.29 dropped 3.7.
_LAST_PYO3_FOR = {(3, 6): "0.15", (3, 7): "0.28"}

_MARKER = "@@packager-probe@@"

# Runs under -E -s -S: no PYTHON* variables, no user site, no site (sysconfig needs none).
# Not -I, which Python 2 and 3.0-3.3 refuse before running anything; dropping the ''
# entry does what -I adds, so a json.py in the working directory is never imported.
# Must stay valid Python 2.7 syntax: an interpreter too old for the full probe (no
# sys.implementation before 3.3) reports only its version, which says why it is refused.
_PROBE_SCRIPT = f"""
import sys
sys.path = [entry for entry in sys.path if entry]
if sys.version_info[:2] < (3, 3):
    sys.stdout.write("{_MARKER}" + '{{"version": "%d.%d.%d", "major": %d, "minor": %d}}\\n'
                     % (tuple(sys.version_info[:3]) + tuple(sys.version_info[:2])))
    sys.exit(0)
import json, struct, sysconfig
v = sysconfig.get_config_var
paths = sysconfig.get_paths()
keys = ("Py_ENABLE_SHARED", "LIBDIR", "LDLIBRARY", "LIBRARY", "LIBPL", "INSTSONAME",
        "LDVERSION", "LIBS", "SYSLIBS", "MODLIBS", "LINKFORSHARED", "EXT_SUFFIX", "SOABI",
        "MULTIARCH", "PYTHONFRAMEWORK", "PYTHONFRAMEWORKPREFIX", "Py_GIL_DISABLED",
        "Py_DEBUG", "Py_REF_DEBUG", "COUNT_ALLOCS")
print("{_MARKER}" + json.dumps({{
    "version": "%d.%d.%d" % sys.version_info[:3],
    "major": sys.version_info[0],
    "minor": sys.version_info[1],
    "implementation": sys.implementation.name,
    "vars": {{k: v(k) for k in keys}},
    "stdlib": paths.get("stdlib"),
    "platstdlib": paths.get("platstdlib"),
    "include": paths.get("include"),
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "executable": sys.executable,
    "pointer_width": struct.calcsize("P") * 8,
    "abiflags": getattr(sys, "abiflags", ""),
    "builtin_module_names": sorted(sys.builtin_module_names),
    "stdlib_module_names": sorted(getattr(sys, "stdlib_module_names", ())),
}}))
"""

# Build flags PyO3 reads from sysconfig (pyo3-build-config BuildFlags::ALL).
_BUILD_FLAGS = ("Py_DEBUG", "Py_REF_DEBUG", "Py_GIL_DISABLED", "COUNT_ALLOCS")


@dataclass(frozen=True)
class Interpreter:
    """The facts of one Python build that embedding decisions depend on."""

    path: str  # the path probed (may be a symlink or a pyenv shim)
    executable: str  # sys.executable as the interpreter reports it
    version: str  # "3.11.7"
    major: int
    minor: int
    implementation: str  # sys.implementation.name: "cpython", "pypy", "graalpy"
    enable_shared: bool  # Py_ENABLE_SHARED
    libdir: str | None
    ldlibrary: str | None
    library: str | None
    libpl: str | None
    instsoname: str | None
    ldversion: str | None  # "3.11", "3.13t": the suffix of the library name
    libs: str
    syslibs: str
    modlibs: str
    linkforshared: str
    stdlib: str | None
    platstdlib: str | None
    ext_suffix: str | None
    soabi: str | None
    multiarch: str | None
    prefix: str
    base_prefix: str
    pointer_width: int
    abiflags: str
    framework: str  # PYTHONFRAMEWORK: non-empty for a macOS framework build
    framework_prefix: str | None  # PYTHONFRAMEWORKPREFIX, as PyO3 reports it
    free_threaded: bool  # Py_GIL_DISABLED
    build_flags: tuple[str, ...]  # PyO3's build flags that are set, in PyO3's order
    builtin_module_names: tuple[str, ...]
    stdlib_module_names: tuple[str, ...]
    shared_library: str | None  # real path of libpythonX.Y.so.1.0, if present
    static_archives: tuple[str, ...]  # real paths of libpythonX.Y*.a, PIC-named first
    link_libraries: tuple[str, ...]  # names for -l that a static libpython needs
    include_dir: str | None = None  # where Python.h is (sysconfig's "include" path)

    @property
    def short_version(self) -> str:
        """The major.minor version ("3.11") that PyO3 configs carry."""
        return f"{self.major}.{self.minor}"

    @property
    def static_archive(self) -> str | None:
        """The preferred static archive (a `-pic` one when the build ships both)."""
        return self.static_archives[0] if self.static_archives else None

    @property
    def embedding_problem(self) -> str | None:
        """Why this interpreter cannot be embedded with PyO3, or None when it can."""
        if self.implementation in ("pypy", "graalpy"):
            name = "PyPy" if self.implementation == "pypy" else "GraalPy"
            return f"{name} cannot be embedded in a Rust program (only CPython can)"
        if self.implementation != "cpython":
            return f"implementation '{self.implementation}' is not supported for embedding"
        return version_problem(self.major, self.minor, self.version)


def version_problem(major: int, minor: int, version: str) -> str | None:
    """Why PyO3 cannot embed this Python version, in plain words, or None when it can."""
    if major < 3:
        return (
            f"Python 2 cannot be embedded by PyO3 (this is Python {version}; PyO3 0.29 needs 3.8+)"
        )
    if (major, minor) >= MIN_EMBED_VERSION:
        return None
    last = _LAST_PYO3_FOR.get((major, minor))
    older = f"; PyO3 {last} was the last release to support {major}.{minor}" if last else ""
    return f"Python {version} is older than PyO3 0.29's minimum 3.8{older}"


_EMBEDDABLE_FIX = "choose a CPython 3.8+ interpreter with --python or PYO3_PYTHON"


def require_embeddable(interpreter: Interpreter) -> None:
    """Raise InterpreterError when the interpreter cannot be embedded."""
    problem = interpreter.embedding_problem
    if problem is not None:
        raise InterpreterError(
            problem,
            path=interpreter.path,
            fix=_EMBEDDABLE_FIX,
        )


_probe_cache: dict[str, Interpreter] = {}


def probe(
    executable: str, environ: Mapping[str, str], *, cache_dir: Path | None = None
) -> Interpreter:
    """Run `executable` to read its sysconfig; cached in-process, and on disk with `cache_dir`.

    Both caches are keyed by the path given, the file it leads to and the variables that
    steer shims (pyenv, venvs): a symlink's or a venv's python reports its own
    sys.executable and prefix, so the real file alone does not say what a probe returns.
    A cached result saves a no-op build the subprocess.
    """
    real = os.path.realpath(executable)
    stat = _stat_interpreter(executable, real)
    key = _cache_key(executable, real, stat, environ)
    cached = _probe_cache.get(key)
    if cached is not None:
        return dataclasses.replace(cached, path=executable)
    facts = _read_cached_facts(cache_dir, key)
    if facts is not None:
        interpreter = interpreter_from_facts(executable, facts)
        _probe_cache[key] = interpreter
        return interpreter
    facts = _run_probe(executable, environ)
    interpreter = interpreter_from_facts(executable, facts)
    _probe_cache[key] = interpreter
    _write_cached_facts(cache_dir, key, facts)
    return interpreter


def _stat_interpreter(executable: str, real: str) -> os.stat_result:
    """The stat of `real`, the file `executable` leads to; InterpreterError when missing."""
    try:
        return os.stat(real)
    except OSError as exc:
        raise InterpreterError(
            f"Python interpreter not found ({exc.strerror})",
            path=executable,
            fix="pass the path of an existing python3.X with --python",
        ) from exc


def _run_probe(executable: str, environ: Mapping[str, str]) -> dict[str, object]:
    """The facts the probe script prints; InterpreterError when it cannot give them all."""
    try:
        result = runner.run(
            [executable, "-E", "-s", "-S", "-c", _PROBE_SCRIPT],
            environ=environ,
            check=False,
            timeout=60,
        )
    except ToolError as exc:
        raise InterpreterError(
            f"cannot run the interpreter: {exc.message}",
            path=executable,
            fix="pass the path of a working python3.X with --python",
        ) from exc
    facts = _parse_probe_output(result.stdout)
    if facts is None:
        hint = _output_hint(result.stderr or result.stdout)
        raise InterpreterError(
            f"not a working Python 3 interpreter (exit code {result.returncode}){hint}",
            path=executable,
            fix="pass the path of a CPython 3.8+ executable with --python",
        )
    if "vars" not in facts:  # too old for the full probe: only its version came back
        raise InterpreterError(
            version_problem(
                int(str(facts["major"])), int(str(facts["minor"])), str(facts["version"])
            )
            or f"Python {facts['version']} cannot be probed",
            path=executable,
            fix=_EMBEDDABLE_FIX,
        )
    return facts


# Variables that change what a shim or a venv's python resolves to.
_SHIM_VARIABLES = ("PATH", "PYENV_VERSION", "PYENV_ROOT", "VIRTUAL_ENV", "CONDA_PREFIX")


def _cache_key(executable: str, real: str, stat: os.stat_result, environ: Mapping[str, str]) -> str:
    # The probe script is part of the key: facts cached by an older probe lack newer keys.
    parts = [_PROBE_SCRIPT, os.path.abspath(executable), real]
    parts += [str(stat.st_mtime_ns), str(stat.st_size)]
    parts.extend(f"{name}={environ.get(name, '')}" for name in _SHIM_VARIABLES)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _read_cached_facts(cache_dir: Path | None, disk_key: str) -> dict[str, object] | None:
    if cache_dir is None:
        return None
    facts = cache.read_record(str(cache_dir / f"{disk_key}.json"))
    if not isinstance(facts, dict):
        return None
    # The interpreter itself may have been replaced since (pyenv install --force).
    executable = facts.get("executable")
    if not isinstance(executable, str) or not os.path.exists(executable):
        return None
    return {str(key): value for key, value in facts.items()}


def _write_cached_facts(cache_dir: Path | None, disk_key: str, facts: Mapping[str, object]) -> None:
    if cache_dir is not None:
        cache.write_record(str(cache_dir / f"{disk_key}.json"), facts)


def _output_hint(output: str) -> str:
    """The telling line of a failed probe: a traceback's last line, else the first line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return f": {lines[-1]}" if lines[0].startswith("Traceback") else f": {lines[0]}"


def _parse_probe_output(stdout: str) -> dict[str, object] | None:
    for line in stdout.splitlines():
        if line.startswith(_MARKER):
            try:
                data = json.loads(line[len(_MARKER) :])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def interpreter_from_facts(path: str, facts: Mapping[str, object]) -> Interpreter:
    """Build an Interpreter from the probe script's JSON (pure: no file access but stat)."""
    raw_vars = facts.get("vars")
    config: Mapping[str, object] = raw_vars if isinstance(raw_vars, dict) else {}

    def text(name: str) -> str | None:
        value = config.get(name)
        return None if value is None else str(value)

    def flag(name: str) -> bool:
        return str(config.get(name)) in ("1", "True", "true")

    major = int(str(facts["major"]))
    minor = int(str(facts["minor"]))
    libdir, libpl = text("LIBDIR"), text("LIBPL")
    library = text("LIBRARY")
    build_flags = [name for name in _BUILD_FLAGS if flag(name)]
    if "Py_DEBUG" in build_flags and "Py_REF_DEBUG" not in build_flags:
        build_flags.insert(1, "Py_REF_DEBUG")  # as PyO3's BuildFlags::fixup does
    libs, syslibs, modlibs = text("LIBS") or "", text("SYSLIBS") or "", text("MODLIBS") or ""
    return Interpreter(
        path=path,
        executable=str(facts.get("executable") or path),
        version=str(facts["version"]),
        major=major,
        minor=minor,
        implementation=str(facts["implementation"]),
        enable_shared=flag("Py_ENABLE_SHARED"),
        libdir=libdir,
        ldlibrary=text("LDLIBRARY"),
        library=library,
        libpl=libpl,
        instsoname=text("INSTSONAME"),
        ldversion=text("LDVERSION"),
        libs=libs,
        syslibs=syslibs,
        modlibs=modlibs,
        linkforshared=text("LINKFORSHARED") or "",
        stdlib=_optional_str(facts.get("stdlib")),
        platstdlib=_optional_str(facts.get("platstdlib")),
        ext_suffix=text("EXT_SUFFIX"),
        soabi=text("SOABI"),
        multiarch=text("MULTIARCH"),
        prefix=str(facts.get("prefix", "")),
        base_prefix=str(facts.get("base_prefix", "")),
        pointer_width=int(str(facts.get("pointer_width", 64))),
        abiflags=str(facts.get("abiflags", "")),
        framework=text("PYTHONFRAMEWORK") or "",
        framework_prefix=text("PYTHONFRAMEWORKPREFIX"),
        free_threaded=flag("Py_GIL_DISABLED"),
        build_flags=tuple(build_flags),
        builtin_module_names=_str_tuple(facts.get("builtin_module_names")),
        stdlib_module_names=_str_tuple(facts.get("stdlib_module_names")),
        shared_library=_find_shared_library(libdir, libpl, (text("INSTSONAME"), text("LDLIBRARY"))),
        static_archives=_find_static_archives(libdir, libpl, library),
        link_libraries=link_libraries(libs, syslibs, modlibs),
        include_dir=_optional_str(facts.get("include")),
    )


def link_libraries(*flag_strings: str) -> tuple[str, ...]:
    """The library names of every `-lNAME` in the given linker flag strings, deduplicated."""
    names: list[str] = []
    for flags in flag_strings:
        for token in shlex.split(flags):
            if token.startswith("-l") and len(token) > 2 and token[2:] not in names:
                names.append(token[2:])
    return tuple(names)


def _is_shared_object(name: str) -> bool:
    return name.endswith((".so", ".dylib")) or ".so." in name


def _find_shared_library(
    libdir: str | None, libpl: str | None, names: tuple[str | None, ...]
) -> str | None:
    # INSTSONAME first: it names the file the loader will look for (libpython3.11.so.1.0).
    for directory in (libdir, libpl):
        for name in names:
            if directory and name and _is_shared_object(name):
                candidate = Path(directory, name)
                if candidate.is_file():
                    return os.path.realpath(candidate)
    return None


def _find_static_archives(
    libdir: str | None, libpl: str | None, library: str | None
) -> tuple[str, ...]:
    if not library or not library.endswith(".a"):
        return ()
    # Debian ships libpython3.X-pic.a beside the non-PIC libpython3.X.a; PIC goes first
    # because Rust links position-independent executables by default.
    names = (library[: -len(".a")] + "-pic.a", library)
    found: list[str] = []
    for name in names:
        for directory in (libpl, libdir):
            if directory:
                candidate = Path(directory, name)
                real = os.path.realpath(candidate)
                if candidate.is_file() and real not in found:
                    found.append(real)
    return tuple(found)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _str_tuple(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()
