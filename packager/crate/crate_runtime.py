"""The start-up code packager links into every program it builds.

`templates/runtime/packager_start.c` is compiled against the interpreter's headers into a
static archive under the cargo target directory, once per interpreter, and linked with
`-Wl,--wrap=Py_InitializeEx`: whatever starts Python in the crate (PyO3's
`Python::initialize()`, `prepare_freethreaded_python()`, the `auto-initialize` feature)
reaches it, so the crate needs no source change to start from a onefile payload or a
bundle, and Python's buffered output is flushed at exit. An archive, not an object file:
the linker takes its member only into binaries that call Py_InitializeEx, never into
build scripts or proc-macros, which also get RUSTFLAGS.

`src/packager_runtime.rs` is an optional Rust file for crates that call
`packager_runtime::initialize()`; `packager build` refreshes it in every crate that has it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from packager.core import runner
from packager.core.errors import InterpreterError
from packager.core.fsutil import write_text_if_changed
from packager.core.resources import templates_dir
from packager.python.interpreters import Interpreter

RUNTIME_FILE = "packager_runtime.rs"
START_SOURCE = "packager_start.c"
START_ARCHIVE = "libpackager_start.a"
WRAPPED_FUNCTION = "Py_InitializeEx"
# Position-independent (PIE and non-PIE links alike), exporting nothing itself, and
# reproducible: no debug info, so no build path inside. -O2, not -Os: a onefile program
# hashes every module it loads, 9% less CPU for a stdlib-heavy app (2 KB more code).
_CFLAGS = ("-O2", "-fPIC", "-fvisibility=hidden", "-ffunction-sections", "-fdata-sections")
_CC_FIX = "install a C toolchain (Debian: apt-get install gcc)"


def runtime_source() -> str:
    """The Rust source of `src/packager_runtime.rs`."""
    return (templates_dir() / "runtime" / RUNTIME_FILE).read_text(encoding="utf-8")


def write_runtime(crate_dir: Path) -> bool:
    """Write `src/packager_runtime.rs` if its content changed; True when it was written.

    An unchanged file keeps its mtime, so a no-op `cargo build` stays a no-op.
    """
    return write_text_if_changed(crate_dir / "src" / RUNTIME_FILE, runtime_source())


def start_source() -> str:
    """The C source of the start-up code."""
    return (templates_dir() / "runtime" / START_SOURCE).read_text(encoding="utf-8")


def start_up_supported(platform: str = sys.platform) -> bool:
    """Whether programs built on `platform` get the start-up code (ELF linkers and /proc)."""
    return platform.startswith("linux")


def start_up_link_args(
    interpreter: Interpreter,
    target_dir: Path,
    environ: Mapping[str, str],
    *,
    echo: runner.Echo | None = None,
) -> tuple[str, ...]:
    """The linker arguments that put the start-up code into the binaries of a build."""
    cc = runner.require("cc", environ, fix=_CC_FIX)
    ar = runner.require("ar", environ, fix="install binutils (Debian: apt-get install binutils)")
    headers = (("-I", _headers(interpreter)),)
    return start_up_archive_args(
        headers, interpreter.version, target_dir, environ, cc=cc, ar=ar, echo=echo
    )


def start_up_archive_args(
    headers: tuple[tuple[str, str], ...],
    version: str,
    target_dir: Path,
    environ: Mapping[str, str],
    *,
    cc: str,
    ar: str,
    echo: runner.Echo | None = None,
) -> tuple[str, ...]:
    """The linker arguments for the start-up archive compiled by `cc` (a cross compiler
    for another target) against `headers` ((flag, directory) pairs: -I, -idirafter).

    The archive is compiled the first time; its directory is named after what it is made
    from, so a new packager, interpreter or compiler gets a new archive, and cargo relinks.
    """
    source = start_source()
    include_flags = [part for pair in headers for part in pair]
    key_parts = (source, *include_flags, version, os.path.realpath(cc), *_CFLAGS)
    key = hashlib.sha256("\0".join(key_parts).encode()).hexdigest()[:16]
    directory = target_dir / "packager" / f"start-{key}"
    archive = directory / START_ARCHIVE
    if not archive.is_file():
        _compile(source, include_flags, cc, ar, directory, environ, echo)
    return (str(archive), f"-Wl,--wrap={WRAPPED_FUNCTION}")


def _headers(interpreter: Interpreter) -> str:
    include = interpreter.include_dir
    if include is None or not os.path.isfile(os.path.join(include, "Python.h")):
        raise InterpreterError(
            f"Python {interpreter.version} has no C headers (Python.h"
            + (f" is not in {include})" if include else ")")
            + ", which packager's start-up code is compiled against",
            path=interpreter.path,
            fix=f"install the development package (e.g. libpython{interpreter.short_version}-dev)",
        )
    return include


def _compile(
    source: str,
    include_flags: list[str],
    cc: str,
    ar: str,
    directory: Path,
    environ: Mapping[str, str],
    echo: runner.Echo | None,
) -> None:
    """Compile the start-up code into `directory`/libpackager_start.a, atomically."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".start-", dir=directory.parent))
    try:
        (work / START_SOURCE).write_text(source, encoding="utf-8")
        # Relative names, run inside `work`: the object records no temporary path.
        obj = "packager_start.o"
        compile_argv = [cc, "-c", *_CFLAGS, *include_flags, "-o", obj, START_SOURCE]
        runner.run(compile_argv, environ=environ, cwd=str(work), echo=echo)
        runner.run([ar, "rcsD", START_ARCHIVE, obj], environ=environ, cwd=str(work), echo=echo)
        (work / START_SOURCE).unlink()
        (work / obj).unlink()
        try:
            work.rename(directory)
        except OSError:
            if not (directory / START_ARCHIVE).is_file():
                raise  # not another build having put the same archive there first
    finally:
        shutil.rmtree(work, ignore_errors=True)
