"""ld.so search-order emulation on the real binaries of the system and of the Pythons found,
and ld.so.conf parsing (tests/integration compares it with the real loader)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packager.binary import ResolveContext, elf_loader, read_binary, resolve_needed
from packager.binary.model import ParsedBinary
from packager.python.interpreters import Interpreter
from tests.pythons import real_executable, sysconfig_of

SYSTEM_LIBPYTHON = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"


def parse_file(path: str | Path) -> ParsedBinary:
    return read_binary(str(path))[1][0]


def resolved(path: str | Path, **context: object) -> dict[str, str | None]:
    needed = resolve_needed(parse_file(path), str(path), ResolveContext(**context))  # type: ignore[arg-type]
    return {library.name: library.resolved_path for library in needed}


def same_file(first: str | None, second: str | None) -> bool:
    return first is not None and second is not None and os.path.samefile(first, second)


# --- real system binaries -----------------------------------------------------------------


def test_gdb_finds_libpython_in_the_system_directories() -> None:
    if not os.path.exists("/usr/bin/gdb"):
        pytest.fail("gdb is not installed")
    where = resolved("/usr/bin/gdb")
    assert same_file(where["libpython3.11.so.1.0"], SYSTEM_LIBPYTHON)
    assert all(path is not None for path in where.values())


def test_python_finds_libpython_through_its_runpath(linked_cpython: Interpreter) -> None:
    own = sysconfig_of(linked_cpython)
    libdir, soname = own["LIBDIR"], own["INSTSONAME"]
    assert resolved(real_executable(linked_cpython))[soname] == os.path.join(libdir, soname)


# --- ld.so.conf ------------------------------------------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_ld_so_conf_follows_includes_comments_and_loops(tmp_path: Path) -> None:
    write(tmp_path / "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n/opt/last/\n")
    write(tmp_path / "etc/ld.so.conf.d/10-a.conf", "# a comment\n/opt/a  # trailing\n\n")
    write(tmp_path / "etc/ld.so.conf.d/20-b.conf", "include 20-b.conf\nhwcap 0 nosegneg\n/opt/b\n")
    write(tmp_path / "etc/ld.so.conf.d/30-c.conf", "include\tsub/*.conf\n/opt/b\n")
    write(tmp_path / "etc/ld.so.conf.d/sub/x.conf", "/opt/sub=libc6\n")
    write(tmp_path / "etc/ld.so.conf.d/README", "/opt/not-a-conf-file\n")
    directories = elf_loader.ld_so_conf_directories(str(tmp_path))
    assert directories == ("/opt/a", "/opt/b", "/opt/sub", "/opt/last")


def test_ld_so_conf_missing_is_empty(tmp_path: Path) -> None:
    assert elf_loader.ld_so_conf_directories(str(tmp_path)) == ()
