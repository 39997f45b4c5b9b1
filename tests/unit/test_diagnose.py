"""Known failure messages map to a cause and a fix (canned text, as users see it)."""

from __future__ import annotations

import pytest

from packager.crate.diagnose import diagnose, relevant_lines

CASES = {
    "missing-libpython": "error: could not find native static library `python3.11`, "
    "perhaps an -L flag is missing?",
    "non-pic-archive": "/usr/bin/ld: /usr/lib/python3.11/config-3.11-x86_64-linux-gnu/"
    "libpython3.11.a(getbuildinfo.o): relocation R_X86_64_32 against `.rodata.str1.1' can not "
    "be used when making a PIE object; recompile with -fPIE",
    "lto-archive": "lto1: fatal error: bytecode stream in file 'libpython3.11.a' generated with "
    "LTO version 11.2 instead of the expected 12.0",
    "missing-system-libs": "zlibmodule.c:(.text+0x1a3): undefined reference to `deflateInit2_'",
    "undefined-python-symbols": "main.rs:(.text+0x12): undefined reference to `PyErr_Fetch'",
    "auto-initialize-static": "error: The `auto-initialize` feature is enabled, but your python "
    "installation only supports embedding the Python interpreter statically.",
    "old-pyo3-api": "error[E0599]: no function or associated item named `with_gil` found for "
    "struct `Python` in the current scope",
    "missing-c-toolchain": "error: linker `cc` not found\n  = note: No such file or directory",
    "no-python-for-pyo3": "error: no Python 3.x interpreter found",
    "libpython-not-found-at-runtime": "./app: error while loading shared libraries: "
    "libpython3.11.so.1.0: cannot open shared object file: No such file or directory",
    "stdlib-not-found": "ModuleNotFoundError: No module named 'encodings'",
    "symbols-not-exported": "ImportError: /usr/lib/python3.11/lib-dynload/_decimal.cpython-311-"
    "x86_64-linux-gnu.so: undefined symbol: PyTuple_Type",
    "inittab-after-initialize": "thread 'main' panicked: called `append_to_inittab` but a "
    "Python interpreter is already running.",
    "dlltool-space-in-path": "Error: can't open target/target/x86_64-pc-windows-gnu/"
    "release/deps/rustcbtl4sT/python311.dllh.o for reading: No such file or directory",
}


# rust-lld (the default linker of Rust 1.90+ on x86_64 Linux) words the same failures
# differently; both forms are recognised.
LLD_CASES = [
    (
        "non-pic-archive",
        "rust-lld: error: relocation R_X86_64_32 cannot be used against symbol "
        "'_Py_FalseStruct'; recompile with -fPIC",
    ),
    ("missing-system-libs", "rust-lld: error: undefined symbol: zlibVersion"),
    ("undefined-python-symbols", "rust-lld: error: undefined symbol: PyErr_Fetch"),
]


@pytest.mark.parametrize(("code", "text"), [*CASES.items(), *LLD_CASES])
def test_each_known_failure_is_recognised(code: str, text: str) -> None:
    found = diagnose("   Compiling app v0.1.0\n" + text + "\nerror: could not compile `app`\n")
    assert code in [d.code for d in found]
    diagnosis = next(d for d in found if d.code == code)
    assert diagnosis.evidence in text.splitlines()
    assert diagnosis.fix


def test_link_time_undefined_python_symbol_is_not_an_export_problem() -> None:
    codes = [d.code for d in diagnose("rust-lld: error: undefined symbol: PyErr_Fetch")]
    assert codes == ["undefined-python-symbols"]


def test_ordinary_output_is_not_diagnosed() -> None:
    assert diagnose("   Compiling pyo3 v0.29.0\n    Finished `release` profile\n") == ()


def test_relevant_lines_keep_errors_and_drop_noise() -> None:
    output = "   Compiling a v1\n" * 50 + "error: linking with `cc` failed\n  = note: ld: boom\n"
    assert relevant_lines(output) == ["error: linking with `cc` failed", "  = note: ld: boom"]
