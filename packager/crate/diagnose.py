"""Turn the well-known cargo, linker and start-up failures into a cause and a fix.

Pure functions over captured text, so each pattern is tested on the exact message users
search for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnosis:
    """One recognised failure: what it means, what to do, and the line that showed it."""

    code: str
    cause: str
    fix: str
    evidence: str


@dataclass(frozen=True)
class _Pattern:
    code: str
    regex: str  # compiled on first use: most builds never fail
    cause: str
    fix: str


def _pattern(code: str, regex: str, cause: str, fix: str) -> _Pattern:
    return _Pattern(code, regex, cause, fix)


_PATTERNS = (
    _pattern(
        "missing-libpython",
        r"(could not find native static library `python[\d.]+\w*`|cannot find -lpython[\d.]+\w*"
        r"|unable to find library -lpython[\d.]+\w*)",
        "the linker cannot find libpython in the configured lib_dir",
        "install the development files (Debian: apt-get install libpython3.X-dev) or pick "
        "another interpreter with --python; `packager config` shows the lib_dir in use",
    ),
    _pattern(
        "non-pic-archive",
        # GNU ld: "... can not be used when making a PIE object; recompile with -fPIE";
        # rust-lld: "relocation R_X86_64_32 cannot be used against symbol ...; recompile with -fPIC"
        r"relocation R_X86_64_(?:32S?|PC32) (?:against .* can not be used when making a "
        r"(?:PIE|shared) object|cannot be used against )",
        "the static libpython was compiled without -fPIC and cannot go into a "
        "position-independent executable",
        "use a PIC archive (Debian ships libpython3.X-pic.a), or link a non-PIE executable "
        "(packager build --mode static does one of these and says which)",
    ),
    _pattern(
        "lto-archive",
        r"(bytecode stream .* generated with LTO version|lto1: fatal error"
        r"|file format not recognized.*\.o\)?$|plugin needed to handle lto object)",
        "the static libpython holds LTO bytecode from a different compiler version",
        "link against a libpython.a built without LTO, or with the same compiler; "
        "or embed dynamically (--mode dynamic)",
    ),
    _pattern(
        "missing-system-libs",
        r"(?:undefined reference to `|error: undefined symbol: )(?:deflate\w*|inflate\w*"
        r"|zlibVersion|crc32|XML_\w+|forkpty|openpty|dlopen|dlsym|crypt\w*|sqrt|pow)\b",
        "the static libpython needs system libraries that are not on the link line",
        "add the libraries from the interpreter's sysconfig LIBS/SYSLIBS (e.g. -lz -lexpat "
        "-lutil -ldl -lm); packager build --mode static adds them",
    ),
    _pattern(
        "undefined-python-symbols",
        r"(?:undefined reference to `|(?:ld|lld): error: undefined symbol: )_?Py\w+",
        "the Python C API is not linked into the binary",
        "check that PyO3 is configured to link libpython (no `extension-module` feature "
        "in a binary) and that lib_dir/lib_name point at a real libpython",
    ),
    _pattern(
        "auto-initialize-static",
        r"The `?auto-initialize`? feature is enabled, but your python installation only "
        r"supports embedding the Python interpreter statically",
        "PyO3's auto-initialize feature refuses a config that links libpython statically",
        "build with `packager build --mode static`, which writes a config the feature "
        "accepts; or remove `auto-initialize` from the pyo3 features in Cargo.toml and start "
        "Python in main: Python::initialize() (PyO3 0.26+) or "
        "pyo3::prepare_freethreaded_python() (older)",
    ),
    _pattern(
        "old-pyo3-api",
        r"(no function or associated item named `with_gil`|cannot find function "
        r"`prepare_freethreaded_python`|use of deprecated .*(?:with_gil|"
        r"prepare_freethreaded_python))",
        "the code uses PyO3 API names that were renamed in PyO3 0.26",
        "use Python::attach instead of Python::with_gil, and Python::initialize instead of "
        "pyo3::prepare_freethreaded_python",
    ),
    _pattern(
        "missing-c-toolchain",
        r"(linker `cc` not found|error: linker `\S+` not found|failed to find tool \"cc\")",
        "no C compiler/linker is installed; Rust needs one to link the binary",
        "install one (Debian: apt-get install gcc)",
    ),
    _pattern(
        "no-python-for-pyo3",
        r"(no Python 3\.x interpreter found|failed to run the Python interpreter at)",
        "PyO3's build script could not find or run a Python interpreter",
        "pass --python /path/to/python3, or set PYO3_PYTHON",
    ),
    _pattern(
        "libpython-not-found-at-runtime",
        r"error while loading shared libraries: libpython[\d.]+\w*\.so[.\d]*: cannot open",
        "the binary links a shared libpython that the dynamic loader cannot find",
        "ship libpython with the program and an rpath of $ORIGIN/../lib (packager bundle "
        "does), or build with --mode static",
    ),
    _pattern(
        "stdlib-not-found",
        r"(No module named 'encodings'|Could not find platform independent libraries)",
        "the interpreter started but could not find the standard library",
        "ship the standard library where the prefix search finds it, or set PYTHONHOME "
        "(packager bundle does both)",
    ),
    _pattern(
        "symbols-not-exported",
        # At import time, not link time: the loader names the extension module's file.
        r"(?:ImportError|OSError|\.so): .*undefined symbol: _?Py\w+",
        "a compiled extension module needs Python symbols the executable does not export",
        "link the static libpython whole and with -Wl,--export-dynamic (packager build "
        "--mode static does); `packager check` reports this as PKG101",
    ),
    _pattern(
        "inittab-after-initialize",
        r"called .*append_to_inittab.* but a Python interpreter is already running",
        "a module was registered after the interpreter had started",
        "call append_to_inittab! before Python::initialize() (the generated "
        "packager_inittab::register() does)",
    ),
    _pattern(
        "dlltool-space-in-path",
        # rustc hands dlltool a --temp-prefix that the assembler splits at a space.
        r"can't open .*\.dll[hst]\.[os] for reading",
        "rustc's dlltool call (how PyO3 links python3XY.dll for Windows) breaks on a path "
        "with a space: the cargo target directory is under one",
        "set CARGO_TARGET_DIR to a directory whose path has no space",
    ),
)


def diagnose(output: str) -> tuple[Diagnosis, ...]:
    """Every known failure found in `output`, first occurrence each, in table order."""
    found = []
    for pattern in _PATTERNS:
        match = re.search(pattern.regex, output, re.MULTILINE)
        if match is not None:
            line = _line_at(output, match.start())
            found.append(Diagnosis(pattern.code, pattern.cause, pattern.fix, line))
    return tuple(found)


def relevant_lines(output: str, *, limit: int = 40) -> list[str]:
    """The lines of a failed cargo run worth showing: errors, notes, linker messages."""
    keep = re.compile(
        r"(^error|^warning: unused|undefined reference|relocation |cannot find"
        r"|note: |^\s+= |collect2|ld: |lto1|panicked)"
    )
    lines = [line for line in output.splitlines() if keep.search(line)]
    return lines[:limit]


def _line_at(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start : end if end != -1 else len(text)].strip()
