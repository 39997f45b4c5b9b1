"""A portable runtime for another architecture: how it is built and how it is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.python import target_runtime
from packager.python.interpreters import Interpreter
from packager.python.portable import cpython
from packager.python.portable.recipes import RECIPES
from packager.python.portable.spec import parse_spec
from packager.python.target_root import find_linux_python
from packager.targets import cross_target, host_arch
from packager.verify.roots import debian_release_of

AARCH64 = cross_target("aarch64-unknown-linux-gnu")
FOREIGN = parse_spec("3.11", "2.17", AARCH64.arch)
NATIVE = parse_spec("3.11", "2.17")
RECORDED = "/build/cache/portable-runtimes/cpython-3.11.2-x"  # where a runtime was built


def test_every_library_recipe_names_the_target_system_when_cross() -> None:
    configures = {
        name: next(step.argv for step in recipe("/deps", 2, FOREIGN) if step.label == "configure")
        for name, recipe in RECIPES.items()
        if name not in ("zlib", "bzip2", "openssl")  # no autoconf: the compiler is all
    }
    host = f"--host={AARCH64.arch}-linux-gnu"
    assert {name for name, argv in configures.items() if host not in argv} == set()


def test_a_native_recipe_names_no_system() -> None:
    argv = RECIPES["xz"]("/deps", 2, NATIVE)[0].argv
    assert [arg for arg in argv if arg.startswith(("--host", "--build"))] == []


def test_cpython_is_configured_with_a_build_python_when_cross() -> None:
    configure = cpython.steps("/p", "/deps", 2, FOREIGN, "/native/bin/python3.11")[0].argv
    assert "--with-build-python=/native/bin/python3.11" in configure
    assert f"--build={host_arch()}-linux-gnu" in configure
    assert "ac_cv_file__dev_ptmx=yes" in configure


def test_a_cross_cpython_without_a_build_python_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="build Python"):
        cpython.steps("/p", "/deps", 2, FOREIGN)


def _runtime_prefix(tmp_path: Path) -> Path:
    """A moved runtime prefix: its sysconfigdata records where it was built."""
    prefix = tmp_path / "moved runtime"
    stdlib = prefix / "lib" / "python3.11"
    (stdlib / "lib-dynload").mkdir(parents=True)
    (stdlib / "_sysconfigdata__linux_aarch64-linux-gnu.py").write_text(
        "build_time_vars = {'VERSION': '3.11', "
        f"'prefix': '{RECORDED}', 'LIBDIR': '{RECORDED}/lib', "
        f"'LIBDEST': '{RECORDED}/lib/python3.11', 'INCLUDEPY': '{RECORDED}/include/python3.11'}}\n"
    )
    (stdlib / "lib-dynload" / "zlib.cpython-311-aarch64-linux-gnu.so").write_bytes(b"")
    return prefix


def test_a_runtime_prefix_is_read_where_it_is_now(tmp_path: Path) -> None:
    prefix = _runtime_prefix(tmp_path)
    python = find_linux_python(str(prefix), AARCH64)
    assert python.is_prefix
    assert python.library_dir == f"{prefix}/lib"
    assert python.rooted(python.text("INCLUDEPY")) == f"{prefix}/include/python3.11"
    assert python.rooted("/usr/include") == f"{prefix}/usr/include"


def test_a_root_is_not_a_prefix(tmp_path: Path) -> None:
    stdlib = tmp_path / "usr" / "lib" / "python3.11"
    stdlib.mkdir(parents=True)
    (stdlib / "_sysconfigdata__aarch64-linux-gnu.py").write_text(
        "build_time_vars = {'VERSION': '3.11', 'prefix': '/usr', 'LIBDIR': '/usr/lib'}\n"
    )
    python = find_linux_python(str(tmp_path), AARCH64)
    assert not python.is_prefix and python.library_dir == f"{tmp_path}/usr/lib"


def test_a_module_the_target_has_as_a_file_is_not_taken_as_built_in(tmp_path: Path) -> None:
    dynload = _runtime_prefix(tmp_path) / "lib" / "python3.11" / "lib-dynload"
    host = Interpreter.__new__(Interpreter)
    object.__setattr__(host, "builtin_module_names", ("sys", "zlib", "_io"))
    assert target_runtime._target_builtins(host, str(dynload)) == ("sys", "_io")


@pytest.mark.parametrize(
    ("os_release", "release"),
    [
        ("ID=debian\nVERSION_CODENAME=bullseye\n", "bullseye"),
        ('ID="debian"\nVERSION_CODENAME="trixie"\n', "trixie"),
        ("ID=ubuntu\nVERSION_CODENAME=jammy\n", "bookworm"),
        (None, "bookworm"),
    ],
)
def test_the_userland_names_the_release_whose_c_library_runs_a_foreign_program(
    tmp_path: Path, os_release: str | None, release: str
) -> None:
    if os_release is not None:
        (tmp_path / "etc").mkdir()
        (tmp_path / "etc" / "os-release").write_text(os_release)
    assert debian_release_of(str(tmp_path)) == release
