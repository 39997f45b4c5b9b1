"""Shared helpers for tests that run cargo on real crates and run what it builds."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from packager.binary import read_binary
from packager.binary.model import BinaryFormat, ParsedBinary
from packager.crate.pyo3_config import PyO3Config, parse
from packager.targets import cross_target

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
# One target directory for every cargo run of the suite, so PyO3 compiles once.
CARGO_TARGET_DIR = REPO / "target" / "test-cargo"

# Variables that would change how PyO3 links, inherited from a developer's shell.
_PYO3_VARIABLES = ("PYO3_CONFIG_FILE", "PYO3_PYTHON", "PYO3_PRINT_CONFIG", "RUSTFLAGS")


def require_cargo() -> str:
    """The cargo executable; the test fails when it is not installed."""
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo is not installed")
    return cargo


def cargo_env(**extra: str) -> dict[str, str]:
    """The process environment for cargo: the shared target dir, no inherited PyO3 overrides."""
    environ = {key: value for key, value in os.environ.items() if key not in _PYO3_VARIABLES}
    environ["CARGO_TARGET_DIR"] = str(CARGO_TARGET_DIR)
    environ.update(extra)
    return environ


def cargo_build(crate_dir: Path, environ: dict[str, str], binary: str) -> Path:
    """Run `cargo build` in `crate_dir`; the path of the built `binary`. Fails with the log."""
    completed = subprocess.run(
        [require_cargo(), "build", "--quiet"],
        cwd=crate_dir,
        env=environ,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, f"cargo build failed:\n{completed.stderr}"
    return Path(environ["CARGO_TARGET_DIR"]) / "debug" / binary


def run_binary(
    binary: Path, *args: str, environ: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run a built program and capture its output."""
    return subprocess.run(
        [str(binary), *args], env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def run_packager(
    *args: str,
    environ: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1200,
) -> subprocess.CompletedProcess[str]:
    """Run this checkout's CLI in a subprocess, as a user would, capturing its output."""
    env = dict(os.environ if environ is None else environ)
    env["PYTHONPATH"] = str(REPO)  # this checkout, whatever the working directory
    return subprocess.run(
        [sys.executable, "-m", "packager", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_single(path: Path, expected: BinaryFormat) -> ParsedBinary:
    """The one image of the binary at `path`, which must be of format `expected`."""
    binary_format, parsed = read_binary(str(path))
    assert binary_format is expected
    assert len(parsed) == 1
    return parsed[0]


def pyo3_cross_config(triple: str, lib_dir: Path, work: Path) -> PyO3Config:
    """What `PYO3_PRINT_CONFIG=1 cargo build --target TRIPLE` of samples/hello prints for
    the interpreter in `lib_dir` (PYO3_CROSS_LIB_DIR), as a parsed config."""
    target = cross_target(triple)
    environ = cargo_env(
        PYO3_PRINT_CONFIG="1",
        PYO3_CROSS_LIB_DIR=str(lib_dir),
        PYO3_CROSS_PYTHON_VERSION="3.11",
        CARGO_TARGET_DIR=str(work / "target"),  # a failing build script stays out
    )
    environ[target.linker_variable] = target.linker
    manifest = SAMPLES / "hello" / "Cargo.toml"
    completed = subprocess.run(
        [require_cargo(), "build", "--target", triple, "--manifest-path", str(manifest)],
        env=environ, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    return parse(completed.stdout + completed.stderr, source="cargo output")


def png(path: Path, width: int, height: int | None = None) -> Path:
    """Write a real (one-colour) PNG of the given size."""
    height = width if height is None else height

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


_DESKTOP_STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def parse_desktop_exec(value: str) -> list[str]:
    """The argv a desktop entry's Exec value (as written in the file) runs, read strictly
    by the Desktop Entry Specification: the string escapes first, then the quoting rules,
    then `%%`. Anything the spec does not allow raises ValueError."""
    unescaped = ""
    chars = iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            if following not in _DESKTOP_STRING_ESCAPES:
                raise ValueError(f"invalid string escape \\{following} in {value!r}")
            unescaped += _DESKTOP_STRING_ESCAPES[following]
        else:
            unescaped += char
    arguments: list[str] = []
    index = 0
    while index < len(unescaped):
        if unescaped[index] == " ":
            index += 1
            continue
        argument = ""
        if unescaped[index] == '"':
            index += 1
            while True:
                if index >= len(unescaped):
                    raise ValueError(f"unterminated quote in {value!r}")
                char = unescaped[index]
                if char == '"':
                    index += 1
                    break
                if char == "\\":
                    following = unescaped[index + 1 : index + 2]
                    if following not in ('"', "`", "$", "\\"):
                        raise ValueError(f"invalid quoted escape in {value!r}")
                    argument += following
                    index += 2
                    continue
                argument += char
                index += 1
            if index < len(unescaped) and unescaped[index] != " ":
                raise ValueError(f"a quoted argument must end at a space in {value!r}")
        else:
            while index < len(unescaped) and unescaped[index] != " ":
                if unescaped[index] in _EXEC_RESERVED:
                    raise ValueError(f"reserved character unquoted in {value!r}")
                argument += unescaped[index]
                index += 1
        arguments.append(_field_codes(argument, value))
    return arguments


def _field_codes(argument: str, value: str) -> str:
    if "%" in argument.replace("%%", ""):
        raise ValueError(f"a field code or a lone % in {value!r}")
    return argument.replace("%%", "%")


def uncompilable_hello(tmp_path: Path, manifest_extra: str = "") -> Path:
    """A copy of samples/hello that cargo cannot compile, its Cargo.toml extended by
    `manifest_extra`: a run that reaches cargo shows cargo's error, not the one expected."""
    crate = tmp_path / "hello"
    shutil.copytree(SAMPLES / "hello", crate, ignore=shutil.ignore_patterns("target"))
    with open(crate / "src" / "main.rs", "a", encoding="utf-8") as handle:
        handle.write('\nfn this_does_not_compile() -> u8 { "a string" }\n')
    with open(crate / "Cargo.toml", "a", encoding="utf-8") as handle:
        handle.write(manifest_extra)
    return crate
