"""The start-up code `packager build` links into every program, tried in small C programs.

Each program embeds Debian's static libpython3.11 (no cargo needed) and starts Python with
Py_InitializeEx, as PyO3 does; linked with the start-up archive and --wrap, its Python
output must reach a pipe whatever way it exits; linked without, it is lost. Output is
read through a pipe with PYTHONUNBUFFERED removed: that is where it gets lost.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from pathlib import Path

import pytest

from packager.core.errors import InterpreterError
from packager.crate.crate_runtime import START_ARCHIVE, start_up_link_args
from packager.python.interpreters import Interpreter, probe
from tests.integration.cbuild import DEBIAN_INCLUDE, DEBIAN_LIBS, DEBIAN_PIC_ARCHIVE, gcc

pytestmark = pytest.mark.integration

DEBIAN_PYTHON = "/usr/bin/python3.11"

# How the program leaves, chosen by its first argument:
#   return   main returns, the GIL released (as after Python::attach)
#   held     exit() while this thread holds the GIL (std::process::exit inside attach)
#   spin     exit() while a Python thread keeps running (it holds the GIL most of the time)
#   native   exit() while another thread holds the GIL and never lets it go
PROGRAM = r"""
#include <Python.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *keep_the_gil(void *unused) {
    PyGILState_Ensure();
    for (;;) pause();
    return unused;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "return";
    Py_InitializeEx(0);
    PyEval_SaveThread();
    PyGILState_STATE state = PyGILState_Ensure();
    PyObject *globals = PyDict_New();
    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
    const char *code = strcmp(how, "spin") == 0
        ? "import threading\nprint('left by', 'spin')\n"
          "threading.Thread(target=lambda: [None for _ in iter(int, 1)], daemon=True).start()\n"
        : "print('left by', 'python')\n";
    PyObject *compiled = Py_CompileString(code, "<program>", Py_file_input);
    PyObject *result = compiled ? PyEval_EvalCode(compiled, globals, globals) : NULL;
    if (result == NULL) PyErr_Print();
    Py_XDECREF(result);
    if (strcmp(how, "held") == 0) exit(3);
    PyGILState_Release(state);
    if (strcmp(how, "native") == 0) {
        pthread_t holder;
        pthread_create(&holder, NULL, keep_the_gil, NULL);
        usleep(100000);
        exit(4);
    }
    if (strcmp(how, "spin") == 0) {
        usleep(100000);
        exit(5);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def debian_python() -> Interpreter:
    if not os.path.exists(DEBIAN_PIC_ARCHIVE):
        pytest.fail("Debian's static libpython3.11-pic.a (libpython3.11-dev) is not installed")
    return probe(DEBIAN_PYTHON, os.environ)


def link(out: Path, *start_up: str) -> Path:
    """PROGRAM with the whole static libpython, and the start-up arguments if given.

    Linked as rustc links, with GNU ld: no default libraries, libc named before the
    arguments (from -C link-arg), which come last.
    """
    flags = ["-I", DEBIAN_INCLUDE, "-Wl,--whole-archive", DEBIAN_PIC_ARCHIVE]
    flags += ["-Wl,--no-whole-archive", *DEBIAN_LIBS, "-lpthread", "-Wl,--export-dynamic"]
    flags += ["-fuse-ld=bfd", "-nodefaultlibs", "-lc", "-lgcc_s", "-lgcc"]
    return gcc(out, {"program.c": PROGRAM}, *flags, *start_up)


def piped(program: Path, how: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `program` with stdout a pipe and no PYTHONUNBUFFERED; (result, seconds)."""
    environ = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    start = time.monotonic()
    completed = subprocess.run(
        [str(program), how], env=environ, capture_output=True, text=True, timeout=30, check=False
    )
    return completed, time.monotonic() - start


@pytest.fixture(scope="module")
def programs(
    debian_python: Interpreter, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """(with the start-up code, without it)."""
    work = tmp_path_factory.mktemp("start-up")
    arguments = start_up_link_args(debian_python, work / "target", os.environ)
    return link(work / "with" / "program", *arguments), link(work / "without" / "program")


@pytest.mark.parametrize(("how", "status"), [("return", 0), ("held", 3), ("spin", 5)])
def test_python_output_reaches_a_pipe_however_the_program_exits(
    programs: tuple[Path, Path], how: str, status: int
) -> None:
    with_start_up, without = programs
    completed, _ = piped(with_start_up, how)
    assert completed.returncode == status, completed.stderr
    assert completed.stdout.startswith("left by "), completed.stderr
    # The same program without the start-up code loses it: nothing finalizes Python.
    lost, _ = piped(without, how)
    assert lost.returncode == status
    assert lost.stdout == ""


def test_a_thread_keeping_the_gil_delays_the_exit_but_cannot_hang_it(
    programs: tuple[Path, Path],
) -> None:
    # A hang would stop at piped's timeout; the exit status says the exit went on.
    completed, _ = piped(programs[0], "native")
    assert completed.returncode == 4


def test_the_archive_is_reproducible_and_compiled_once(
    debian_python: Interpreter, tmp_path: Path
) -> None:
    first = start_up_link_args(debian_python, tmp_path / "one", os.environ)
    second = start_up_link_args(debian_python, tmp_path / "two", os.environ)
    assert first[1:] == second[1:] == ("-Wl,--wrap=Py_InitializeEx",)
    assert Path(first[0]).name == START_ARCHIVE
    assert Path(first[0]).read_bytes() == Path(second[0]).read_bytes()
    assert str(tmp_path).encode() not in Path(first[0]).read_bytes()
    before = Path(first[0]).stat().st_mtime_ns
    assert start_up_link_args(debian_python, tmp_path / "one", os.environ) == first
    assert Path(first[0]).stat().st_mtime_ns == before


def test_a_program_that_never_starts_python_links_without_it(
    debian_python: Interpreter, tmp_path: Path
) -> None:
    # Cargo passes RUSTFLAGS to build scripts and proc-macros too: they get the same
    # arguments, and must link and run as if they had not (no libpython there).
    arguments = start_up_link_args(debian_python, tmp_path / "target", os.environ)
    plain = gcc(tmp_path / "plain", {"plain.c": "int main(void) { return 7; }\n"}, *arguments)
    assert subprocess.run([str(plain)], check=False).returncode == 7
    symbols = subprocess.run(["nm", str(plain)], capture_output=True, text=True).stdout
    assert "__wrap_Py_InitializeEx" not in symbols


def test_missing_headers_are_named_with_the_package_to_install(
    debian_python: Interpreter, tmp_path: Path
) -> None:
    without = dataclasses.replace(debian_python, include_dir=str(tmp_path))
    with pytest.raises(InterpreterError, match="has no C headers") as raised:
        start_up_link_args(without, tmp_path / "target", os.environ)
    assert raised.value.fix is not None and "libpython3.11-dev" in raised.value.fix
