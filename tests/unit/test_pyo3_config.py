"""PyO3 config files: building, rendering and parsing (tests/integration compares with PyO3)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packager.cli.options import LINK_MODES
from packager.core.errors import InterpreterError, UnreadableInputError
from packager.crate.pyo3_config import (
    Mode,
    PyO3Config,
    config_for,
    parse,
    render,
    write_config_file,
)
from packager.python.interpreters import interpreter_from_facts, probe

DEBIAN_PYTHON = "/usr/bin/python3.11"
DEBIAN_LIBPL = "/usr/lib/python3.11/config-3.11-x86_64-linux-gnu"

# Real `PYO3_PRINT_CONFIG=1 cargo build` output of pyo3-ffi 0.29.3 (cargo's stderr, trimmed).
PRINTED = """\
error: failed to run custom build command for `pyo3-ffi v0.29.3`

Caused by:
  process didn't exit successfully: `/t/build/pyo3-ffi-1/build-script-build` (exit status: 101)
  --- stdout
  cargo:rerun-if-env-changed=PYO3_PRINT_CONFIG

  -- PYO3_PRINT_CONFIG=1 is set, printing configuration and halting compile --
  implementation=CPython
  version=3.11
  shared=true
  target_abi=CPython-gil_enabled-3.11
  lib_name=python3.11
  lib_dir=/usr/lib/x86_64-linux-gnu
  executable=/usr/bin/python3.11
  pointer_width=64
  build_flags=
  python_framework_prefix=
  suppress_build_script_link_lines=false

  note: unset the PYO3_PRINT_CONFIG environment variable and retry to compile with the above config
warning: build failed, waiting for other jobs to finish...
"""


def _require(path: str) -> str:
    if not os.path.exists(path):
        pytest.fail(f"{path} is not installed")
    return path


def _facts(libdir: Path, *, shared: bool) -> dict[str, object]:
    return {
        "version": "3.11.9",
        "major": 3,
        "minor": 11,
        "implementation": "cpython",
        "executable": "/opt/py/bin/python3.11",
        "pointer_width": 64,
        "vars": {
            "Py_ENABLE_SHARED": 1 if shared else 0,
            "LIBDIR": str(libdir),
            "LIBPL": str(libdir / "config"),
            "LDLIBRARY": "libpython3.11.so" if shared else "libpython3.11.a",
            "INSTSONAME": "libpython3.11.so.1.0" if shared else "libpython3.11.a",
            "LIBRARY": "libpython3.11.a",
            "LDVERSION": "3.11",
            "LIBS": "-lpthread -ldl  -lutil",
            "SYSLIBS": "-lm",
            "MODLIBS": "",
        },
    }


def test_parse_print_config_block_from_cargo_output() -> None:
    config = parse(PRINTED)
    assert config == PyO3Config(
        version="3.11",
        implementation="CPython",
        shared=True,
        target_abi="CPython-gil_enabled-3.11",
        lib_name="python3.11",
        lib_dir="/usr/lib/x86_64-linux-gnu",
        executable="/usr/bin/python3.11",
        pointer_width=64,
        build_flags=(),
        python_framework_prefix="",
        suppress_build_script_link_lines=False,
    )
    # Rendering gives back exactly the printed lines, in PyO3's order.
    block = PRINTED.split("halting compile --\n")[1].split("\n\n")[0]
    assert render(config) == "".join(line[2:] + "\n" for line in block.splitlines())


def test_parse_config_file_rules_follow_pyo3() -> None:
    config = parse("version=3.12\nshared=false\nabi3=true\nbuild_flags=Py_DEBUG,Py_REF_DEBUG\n")
    assert config.version == "3.12" and not config.shared and config.abi3 is True
    assert config.implementation == "CPython" and config.target_abi is None
    assert config.build_flags == ("Py_DEBUG", "Py_REF_DEBUG")
    assert "abi3=true" in render(config)  # an old file keeps its old key
    # extra_build_script_line is kept verbatim, and repeats.
    extra = parse("version=3.11\nextra_build_script_line= a \nextra_build_script_line=b=c\n")
    assert extra.extra_build_script_lines == (" a ", "b=c")
    # shared defaults to true, as in PyO3.
    assert parse("version=3.11\n").shared


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("shared=true\n", "missing value for version"),
        ("version=3.11\n\nshared=true\n", "line 2: expected key=value"),
        ("version=3.11\n# comment\n", "line 2: expected key=value"),
        ("version=3.11\nshared=yes\n", "expected true or false"),
        ("version=3.11\npointer_width=sixty\n", "invalid literal"),
    ],
)
def test_parse_rejects_what_pyo3_rejects(text: str, message: str) -> None:
    with pytest.raises(UnreadableInputError, match=message) as caught:
        parse(text, source="/tmp/cfg.txt")
    assert caught.value.path == "/tmp/cfg.txt"


_value = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs")), min_size=1, max_size=30
)


@given(
    version=st.from_regex(r"3\.[0-9]{1,2}", fullmatch=True),
    shared=st.booleans(),
    lib_name=st.none() | _value,
    lib_dir=st.none() | _value,
    pointer_width=st.none() | st.sampled_from([32, 64]),
    flags=st.lists(st.sampled_from(["Py_DEBUG", "Py_REF_DEBUG", "Py_GIL_DISABLED"]), unique=True),
    suppress=st.booleans(),
    extra=st.lists(_value, max_size=4),
)
def test_render_parse_round_trip(
    version: str,
    shared: bool,
    lib_name: str | None,
    lib_dir: str | None,
    pointer_width: int | None,
    flags: list[str],
    suppress: bool,
    extra: list[str],
) -> None:
    order = ["Py_DEBUG", "Py_REF_DEBUG", "Py_GIL_DISABLED"]
    config = PyO3Config(
        version=version,
        shared=shared,
        target_abi=f"CPython-gil_enabled-{version}",
        lib_name=lib_name,
        lib_dir=lib_dir,
        pointer_width=pointer_width,
        build_flags=tuple(sorted(flags, key=order.index)),
        suppress_build_script_link_lines=suppress,
        extra_build_script_lines=tuple(extra),
    )
    assert parse(render(config)) == config


def test_static_config_for_debian_uses_the_pic_archive_and_its_libraries() -> None:
    config = config_for(probe(_require(DEBIAN_PYTHON), dict(os.environ)), "static")
    assert not config.shared
    assert config.lib_name == "python3.11-pic"  # matches libpython3.11-pic.a
    assert config.lib_dir == DEBIAN_LIBPL
    assert config.suppress_build_script_link_lines
    assert config.extra_build_script_lines == (
        f"cargo:rustc-link-search=native={DEBIAN_LIBPL}",
        "cargo:rustc-link-lib=static:+whole-archive=python3.11-pic",
        "cargo:rustc-link-lib=dl",
        "cargo:rustc-link-lib=m",
        "cargo:rustc-link-lib=z",
        # Not on every system: linked in from Debian's libexpat.a (libexpat1-dev).
        "cargo:rustc-link-lib=static:-bundle=expat",
    )


def test_auto_mode_is_static_without_enable_shared(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "libpython3.11.a").write_bytes(b"!<arch>\n")
    interpreter = interpreter_from_facts("/opt/py/bin/python3.11", _facts(tmp_path, shared=False))
    config = config_for(interpreter)
    assert not config.shared and config.lib_dir == str(tmp_path / "config")
    assert "cargo:rustc-link-lib=util" in config.extra_build_script_lines
    with pytest.raises(InterpreterError, match="no shared libpython"):
        config_for(interpreter, "dynamic")


def test_dynamic_needs_the_unversioned_linker_name(tmp_path: Path) -> None:
    (tmp_path / "libpython3.11.so.1.0").write_bytes(b"\x7fELF")
    interpreter = interpreter_from_facts("/opt/py/bin/python3.11", _facts(tmp_path, shared=True))
    assert interpreter.shared_library == str(tmp_path / "libpython3.11.so.1.0")
    with pytest.raises(InterpreterError, match=r"libpython3\.11\.so \(the name the linker"):
        config_for(interpreter, "dynamic")
    (tmp_path / "libpython3.11.so").symlink_to("libpython3.11.so.1.0")
    config = config_for(interpreter, "dynamic")
    assert config.shared and config.lib_dir == str(tmp_path) and config.lib_name == "python3.11"
    with pytest.raises(InterpreterError, match="no static libpython"):
        config_for(interpreter, "static")


def test_write_config_file_is_atomic_and_leaves_unchanged_files_alone(tmp_path: Path) -> None:
    config = parse(PRINTED)
    path = write_config_file(config, tmp_path / "target")
    assert path == tmp_path / "target" / "packager" / "pyo3-config-dynamic.txt"
    assert path.is_absolute()
    assert path.read_text() == render(config)
    old = 1_000_000_000 * 10**9
    os.utime(path, ns=(old, old))
    assert write_config_file(config, tmp_path / "target") == path
    assert path.stat().st_mtime_ns == old  # untouched: cargo sees no change
    changed = PyO3Config(**{**config.__dict__, "lib_dir": "/elsewhere"})
    write_config_file(changed, tmp_path / "target")
    assert "lib_dir=/elsewhere\n" in path.read_text()
    assert path.stat().st_mtime_ns != old
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_cli_mode_choices_are_the_config_modes() -> None:
    assert tuple(mode.value for mode in Mode) == LINK_MODES
