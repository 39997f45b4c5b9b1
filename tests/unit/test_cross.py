"""Cross targets: the target table, a Windows home's DLL, a Linux root's sysconfigdata."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.core.errors import InterpreterError, UnreadableInputError, UsageError
from packager.crate.cross import linux_config, linux_link_args, windows_config
from packager.crate.pyo3_config import Mode, render
from packager.python.target_root import find_linux_python
from packager.python.windows_home import find_windows_python
from packager.targets import cross_target

AARCH64 = cross_target("aarch64-unknown-linux-gnu")
SYSCONFIG = """# system configuration generated and used by the sysconfig module
build_time_vars = {'VERSION': '3.11', 'LDVERSION': '3.11', 'Py_ENABLE_SHARED': 1,
 'LIBDIR': '/usr/lib/aarch64-linux-gnu',
 'LIBPL': '/usr/lib/python3.11/config-3.11-aarch64-linux-gnu',
 'LIBS': '-ldl', 'SYSLIBS': '-lm', 'LOCALMODLIBS': '-lm  -lz -lexpat  -lexpat -lz',
 'SIZEOF_VOID_P': 8, 'PYTHONFRAMEWORKPREFIX': '', 'Py_DEBUG': 0}
open(MARKER, 'w').close()
"""


def test_targets_name_their_linker_variable() -> None:
    windows = cross_target("x86_64-pc-windows-gnu")
    assert windows.linker_variable == "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER"
    assert windows.executable_suffix == ".exe"
    assert AARCH64.linker_variable == "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"
    assert AARCH64.linker == "aarch64-linux-gnu-gcc"
    with pytest.raises(UsageError, match="no cross build recipe for the target 'riscv64gc"):
        cross_target("riscv64gc-unknown-linux-gnu")


def test_windows_home_gives_the_config_pyo3_derives(tmp_path: Path) -> None:
    for name in ("python311.dll", "python3.dll", "vcruntime140.dll"):
        (tmp_path / name).write_bytes(b"MZ")
    python = find_windows_python(str(tmp_path))
    assert (python.version, python.lib_name) == ("3.11", "python311")
    assert render(windows_config(python)) == (
        "implementation=CPython\nversion=3.11\nshared=true\n"
        "target_abi=CPython-gil_enabled-3.11\nlib_name=python311\n"
        f"lib_dir={tmp_path}\nbuild_flags=\nsuppress_build_script_link_lines=false\n"
    )


@pytest.mark.parametrize("dlls", [(), ("python311.dll", "python312.dll")])
def test_windows_home_needs_exactly_one_versioned_dll(tmp_path: Path, dlls: tuple[str]) -> None:
    for name in dlls:
        (tmp_path / name).write_bytes(b"MZ")
    with pytest.raises(InterpreterError, match=r"holds one python3XY\.dll"):
        find_windows_python(str(tmp_path))


def fake_root(tmp_path: Path, text: str = SYSCONFIG) -> Path:
    root = tmp_path / "root"
    stdlib = root / "usr" / "lib" / "python3.11"
    stdlib.mkdir(parents=True)
    (stdlib / "_sysconfigdata__aarch64-linux-gnu.py").write_text(text)
    (stdlib / "_sysconfigdata__linux_aarch64-linux-gnu.py").write_text(text)
    libdir = root / "usr" / "lib" / "aarch64-linux-gnu"
    libdir.mkdir(parents=True)
    config_dir = stdlib / "config-3.11-aarch64-linux-gnu"
    config_dir.mkdir()
    for archive in (config_dir / "libpython3.11-pic.a", libdir / "libpython3.11.a"):
        archive.write_bytes(b"!<arch>\n")
    return root


def test_sysconfigdata_is_read_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = fake_root(tmp_path, SYSCONFIG.replace("MARKER", "'ran'"))
    python = find_linux_python(str(root), AARCH64)
    assert python.sysconfig_path.endswith("/_sysconfigdata__aarch64-linux-gnu.py")
    assert not (tmp_path / "ran").exists()
    assert python.link_libraries == ("dl", "m", "z", "expat")
    dynamic = linux_config(python)
    assert dynamic.mode is Mode.DYNAMIC
    assert (dynamic.lib_name, dynamic.lib_dir) == ("python3.11", python.library_dir)
    assert (dynamic.pointer_width, dynamic.python_framework_prefix) == (64, "")
    assert python.library_dir == str(root / "usr" / "lib" / "aarch64-linux-gnu")


def test_static_config_prefers_debians_pic_archive(tmp_path: Path) -> None:
    python = find_linux_python(
        str(fake_root(tmp_path, SYSCONFIG.replace("MARKER", "'x'"))), AARCH64
    )
    static = linux_config(python, Mode.STATIC)
    config_dir = str(tmp_path / "root/usr/lib/python3.11/config-3.11-aarch64-linux-gnu")
    assert (static.shared, static.lib_name, static.lib_dir) == (False, "python3.11-pic", config_dir)
    assert static.suppress_build_script_link_lines
    assert static.extra_build_script_lines == (
        f"cargo:rustc-link-search=native={config_dir}",
        "cargo:rustc-link-lib=static:+whole-archive=python3.11-pic",
        f"cargo:rustc-link-search=native={python.library_dir}",
        "cargo:rustc-link-lib=dl",
        "cargo:rustc-link-lib=m",
        "cargo:rustc-link-lib=z",
        "cargo:rustc-link-lib=expat",
    )
    flags = linux_link_args(python, AARCH64, Mode.STATIC)
    assert flags == [
        f"-Clink-arg=-Wl,-rpath-link,{python.library_dir}",
        "-Clink-arg=-Wl,--export-dynamic",
    ]


def test_a_root_without_sysconfigdata_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InterpreterError, match="found none"):
        find_linux_python(str(tmp_path), AARCH64)


def test_sysconfigdata_without_the_dictionary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="sysconfigdata"):
        find_linux_python(str(fake_root(tmp_path, "build_time_vars = compute()\n")), AARCH64)
