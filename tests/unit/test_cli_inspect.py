"""The `inspect` and `check` commands end to end: JSON schema, text, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from packager.python.interpreters import Interpreter
from tests.helpers import run_packager
from tests.pythons import real_executable, sysconfig_of

SCHEMA = json.loads(
    resources.files("packager").joinpath("schema/inspect-v1.json").read_text(encoding="utf-8")
)


def packager(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_packager(*args, cwd=cwd, timeout=120)


def inspect_json(*paths: str, extra: tuple[str, ...] = ()) -> dict[str, object]:
    done = packager("inspect", "--json", *extra, *paths)
    document = json.loads(done.stdout)
    jsonschema.validate(document, SCHEMA)
    return document


def test_debian_python_json_is_static_with_exported_symbols() -> None:
    document = inspect_json("/usr/bin/python3.11")
    (binary,) = document["binaries"]  # type: ignore[misc]
    assert binary["format"] == "elf"
    assert binary["arch"] == "x86_64"
    assert binary["kind"] == "executable"
    assert binary["link_mode"] == "static"
    assert binary["libpython"] is None
    assert binary["python_version"].startswith("3.11")
    assert binary["python_symbols"]["exported"] > 1000
    assert binary["glibc_floor"] is not None


def test_gdb_links_system_libpython() -> None:
    (binary,) = inspect_json("/usr/bin/gdb")["binaries"]  # type: ignore[misc]
    assert binary["link_mode"] == "dynamic"
    assert binary["libpython"]["name"] == "libpython3.11.so.1.0"
    assert binary["libpython"]["resolved_path"].endswith("libpython3.11.so.1.0")
    assert os.path.exists(binary["libpython"]["resolved_path"])
    # x.y.z read from the libpython it resolves to, not just x.y from the library's name.
    debian = subprocess.run(
        ["/usr/bin/python3.11", "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert binary["python_version"] == debian.stdout.strip()


def test_shared_python_has_absolute_runpath(linked_cpython: Interpreter) -> None:
    libdir = sysconfig_of(linked_cpython)["LIBDIR"]
    (binary,) = inspect_json(real_executable(linked_cpython))["binaries"]  # type: ignore[misc]
    assert binary["link_mode"] == "dynamic"
    assert binary["rpath_type"] in ("RUNPATH", "RPATH")
    assert libdir in binary["rpaths"]
    assert binary["libpython"]["resolved_path"].startswith(libdir)


def test_symbols_flag_lists_names() -> None:
    (binary,) = inspect_json("/usr/bin/python3.11", extra=("--symbols",))["binaries"]  # type: ignore[misc]
    names = binary["python_symbols"]["names"]
    assert "Py_Initialize" in names["exported"]
    assert len(names["exported"]) == binary["python_symbols"]["exported"]


def test_text_output_names_link_mode() -> None:
    done = packager("inspect", "/usr/bin/gdb")
    assert done.returncode == 0, done.stderr
    assert "dynamic (Python 3.11" in done.stdout
    assert "libpython3.11.so.1.0 ->" in done.stdout


@pytest.mark.parametrize(
    "content", [b"", b"hello\n", b"\x7fELF", b"MZ" + b"\0" * 10, b"\xca\xfe\xba\xbe\0\0\0\2"]
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    target = tmp_path / "input.bin"
    target.write_bytes(content)
    done = packager("inspect", str(target))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert str(target) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_file_and_symlink_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    done = packager("inspect", str(tmp_path / "missing"), str(loop))
    assert done.returncode == 2
    assert "missing" in done.stderr and "loop" in done.stderr
    assert "Traceback" not in done.stderr


def test_fifo_is_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = packager("inspect", str(fifo))  # would block forever if opened
    assert done.returncode == 2
    assert "not a regular file" in done.stderr


def test_help_lists_examples() -> None:
    for command in ("inspect", "check"):
        done = packager(command, "--help")
        assert done.returncode == 0
        assert "Examples:" in done.stdout
