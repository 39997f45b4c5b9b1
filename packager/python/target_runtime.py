"""The runtime of a Linux program built for another architecture, taken from its root.

A cross build links the libpython of the target's root file system (`--python-home`,
Debian's libpython3.X of the target's architecture unpacked there); its bundle ships that
libpython and that stdlib, never the host's. The target's interpreter cannot run here,
so the bytecode is compiled by a host interpreter of the same X.Y (bytecode depends on
the version only), and the directories come from the target's sysconfigdata, read as a
literal.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from packager.binary.model import BinaryReport, LinkMode
from packager.core.errors import InterpreterError, UsageError
from packager.python.discovery import find_interpreters
from packager.python.interpreters import Interpreter, probe
from packager.python.runtime import PythonRuntime, site_packages_dir
from packager.python.target_root import LINUX_ROOT_FIX, find_linux_python
from packager.targets import PythonSource, linux_cross_triples, linux_target_for


def target_runtime(
    report: BinaryReport,
    python_home: str | None,
    *,
    environ: Mapping[str, str],
    explicit: str | None = None,
    cache_dir: str | None = None,
) -> PythonRuntime:
    """The runtime in the root `python_home` for the foreign-architecture program of
    `report`; `explicit` (--python) names the host interpreter that compiles its stdlib."""
    target = linux_target_for(report.arch)
    if target is None or target.python is not PythonSource.TARGET_ROOT:
        raise UsageError(
            f"no recipe to bundle a Linux program for {report.arch}",
            path=report.path,
            fix="bundle a program built for this machine or for "
            + ", ".join(linux_cross_triples()),
        )
    if python_home is None:
        raise UsageError(
            f"the program is built for {report.arch}: its libpython and standard library "
            "come from the target's root file system",
            path=report.path,
            fix=LINUX_ROOT_FIX,
        )
    python = find_linux_python(python_home, target)
    stdlib_dir = python.rooted(python.text("LIBDEST"))
    dynload_dir = python.rooted(python.text("DESTSHARED"))
    for directory in (stdlib_dir, dynload_dir):
        if not os.path.isdir(directory):
            raise InterpreterError(
                f"the target's sysconfigdata names {directory}, which does not exist",
                path=python.sysconfig_path,
                fix=LINUX_ROOT_FIX,
            )
    libpython = None
    if report.link_mode is LinkMode.DYNAMIC:
        soname = report.libpython.name if report.libpython else python.text("INSTSONAME")
        libpython = os.path.realpath(os.path.join(python.library_dir, soname))
        if not os.path.isfile(libpython):
            raise InterpreterError(
                f"the program needs {soname}, which is not in the target's {python.library_dir}",
                path=report.path,
                fix=LINUX_ROOT_FIX,
            )
    host = host_compiler(python.version, environ, explicit=explicit, cache_dir=cache_dir)
    interpreter = dataclasses.replace(
        host,
        builtin_module_names=_target_builtins(host, dynload_dir),
        stdlib=stdlib_dir,
        platstdlib=stdlib_dir,
        ext_suffix=python.text("EXT_SUFFIX") or None,
        soabi=python.text("SOABI") or None,
        multiarch=python.text("MULTIARCH") or None,
        shared_library=libpython,
    )
    site_packages = site_packages_dir(interpreter, stdlib_dir=stdlib_dir)
    return PythonRuntime(
        interpreter, stdlib_dir, dynload_dir, libpython, site_packages, machine=target.arch
    )


def _target_builtins(host: Interpreter, dynload_dir: str) -> tuple[str, ...]:
    """The modules built into the target's CPython, as far as the host's tell: theirs,
    less those the target has as files in lib-dynload (a portable runtime's zlib)."""
    files = {name.partition(".")[0] for name in os.listdir(dynload_dir)}
    return tuple(name for name in host.builtin_module_names if name not in files)


def host_compiler(
    version: str,
    environ: Mapping[str, str],
    *,
    explicit: str | None = None,
    cache_dir: str | None = None,
) -> Interpreter:
    """A CPython `version` ("3.11") of this host, to compile the target's stdlib with."""
    probe_cache = Path(cache_dir, "probe") if cache_dir else None
    paths = [explicit] if explicit else [f"/usr/bin/python{version}"]
    if not explicit:
        paths += [candidate.path for candidate in find_interpreters(environ)]
    for path in dict.fromkeys(paths):
        if not os.path.exists(path):
            continue
        try:
            interpreter = probe(path, environ, cache_dir=probe_cache)
        except InterpreterError:
            continue
        if interpreter.short_version == version and interpreter.implementation == "cpython":
            return interpreter
    raise InterpreterError(
        f"no CPython {version} on this machine to compile the target's standard library with "
        "(bytecode depends on the version only, so a host interpreter compiles it)",
        path=explicit,
        fix=f"install python{version} (Debian: apt-get install python{version}) or name one "
        "with --python",
    )
