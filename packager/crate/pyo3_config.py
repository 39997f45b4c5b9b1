"""Build, write and parse PyO3 config files (`PYO3_CONFIG_FILE`) and `PYO3_PRINT_CONFIG` output.

The format is pyo3-build-config 0.29's `InterpreterConfig::to_writer`/`from_reader`:
`key=value` lines, no comments, no blank lines, values trimmed (except
`extra_build_script_line`, taken verbatim), `shared` defaulting to true.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from packager.binary.floor import ALLOWED_LIBRARIES
from packager.core.errors import InterpreterError, UnreadableInputError, UsageError
from packager.core.fsutil import write_text_if_changed
from packager.python.interpreters import Interpreter, require_embeddable

PRINT_CONFIG_START = "-- PYO3_PRINT_CONFIG=1 is set, printing configuration and halting compile --"
PRINT_CONFIG_END = "note: unset the PYO3_PRINT_CONFIG environment variable"

# The order PyO3 writes flags in is a HashSet's (random); ours is fixed so files are stable.
_BUILD_FLAG_ORDER = ("Py_DEBUG", "Py_REF_DEBUG", "Py_TRACE_REFS", "Py_GIL_DISABLED", "COUNT_ALLOCS")

# Linker arguments a static embedding needs on the *binary*. A `cargo:rustc-link-arg` from
# pyo3-ffi's build script (where extra_build_script_line lines are printed) never reaches
# the binary, and `cargo:rustc-link-arg-bins` there is rejected by cargo, so these must come
# from the binary crate's build.rs (`cargo:rustc-link-arg-bins=`) or RUSTFLAGS.
STATIC_BINARY_LINK_ARGS = ("-Wl,--export-dynamic",)


class Mode(StrEnum):
    AUTO = "auto"
    DYNAMIC = "dynamic"
    STATIC = "static"


@dataclass(frozen=True)
class PyO3Config:
    """One PyO3 interpreter config, field for field as pyo3-build-config 0.29 knows it."""

    version: str  # "3.11"
    implementation: str = "CPython"
    shared: bool = True
    target_abi: str | None = None  # "CPython-gil_enabled-3.11"; PyO3 derives it when absent
    abi3: bool | None = None  # the pre-0.29 key, kept only when a file still uses it
    lib_name: str | None = None
    lib_dir: str | None = None
    executable: str | None = None
    pointer_width: int | None = None
    build_flags: tuple[str, ...] = ()
    python_framework_prefix: str | None = None
    suppress_build_script_link_lines: bool = False
    extra_build_script_lines: tuple[str, ...] = ()

    @property
    def mode(self) -> Mode:
        """Dynamic or static, as the config links libpython: by its own link lines when
        PyO3's are suppressed, else as `shared` says."""
        if self.suppress_build_script_link_lines and any(
            line.startswith(_STATIC_LINK_LINE) for line in self.extra_build_script_lines
        ):
            return Mode.STATIC
        return Mode.DYNAMIC if self.shared else Mode.STATIC


_STATIC_LINK_LINE = "cargo:rustc-link-lib=static"


def config_for(
    interpreter: Interpreter, mode: Mode | str = Mode.AUTO, *, static_archive: str | None = None
) -> PyO3Config:
    """The config a build with `interpreter` uses; auto picks what PyO3 itself would.

    `static_archive` replaces the interpreter's own libpython.a in a static config.
    """
    require_embeddable(interpreter)
    chosen = Mode(mode)
    if chosen is Mode.AUTO:
        # PyO3's rule: shared when Py_ENABLE_SHARED or a framework build.
        shared = interpreter.enable_shared or bool(interpreter.framework)
        chosen = Mode.DYNAMIC if shared else Mode.STATIC
    if chosen is Mode.DYNAMIC:
        if static_archive is not None:
            raise UsageError(
                "a static library was given for a dynamic build", fix="use --mode static"
            )
        return _dynamic_config(interpreter)
    return _static_config(interpreter, static_archive or interpreter.static_archive)


def _base(interpreter: Interpreter) -> PyO3Config:
    kind = "free_threaded" if interpreter.free_threaded else "gil_enabled"
    return PyO3Config(
        version=interpreter.short_version,
        implementation="CPython",
        target_abi=f"CPython-{kind}-{interpreter.short_version}",
        executable=interpreter.executable,
        pointer_width=interpreter.pointer_width,
        build_flags=_ordered_flags(interpreter.build_flags),
        python_framework_prefix=interpreter.framework_prefix,
    )


def _library_stem(interpreter: Interpreter) -> str:
    """`python3.11` (or `python3.13t`): what PyO3 passes to -l for this build."""
    if interpreter.ldversion:
        return f"python{interpreter.ldversion}"
    suffix = "t" if interpreter.free_threaded else ""
    return f"python{interpreter.short_version}{suffix}"


def _dynamic_config(interpreter: Interpreter) -> PyO3Config:
    lib_name = _library_stem(interpreter)
    if interpreter.shared_library is None:
        raise InterpreterError(
            f"Python {interpreter.version} has no shared libpython to link dynamically",
            path=interpreter.path,
            fix="use --mode static, or a Python built with --enable-shared",
        )
    # The linker resolves -lpython3.11 through the unversioned libpython3.11.so symlink,
    # which lives in LIBDIR (pyenv, Debian) or, for some builds, only beside the real file.
    linker_name = f"lib{lib_name}.so"
    directories = [interpreter.libdir, os.path.dirname(interpreter.shared_library)]
    lib_dir = next((d for d in directories if d and Path(d, linker_name).exists()), None)
    if lib_dir is None:
        raise InterpreterError(
            f"{interpreter.shared_library} exists but {linker_name} (the name the linker "
            "looks for) is in none of " + ", ".join(d for d in directories if d),
            path=interpreter.path,
            fix=f"install the development package (e.g. libpython{interpreter.short_version}-dev)",
        )
    return dataclasses.replace(_base(interpreter), shared=True, lib_name=lib_name, lib_dir=lib_dir)


def _static_config(interpreter: Interpreter, archive: str | None) -> PyO3Config:
    if archive is None:
        raise InterpreterError(
            f"Python {interpreter.version} has no static libpython "
            f"(libpython{interpreter.short_version}.a)",
            path=interpreter.path,
            fix="use --mode dynamic, or a Python that ships its static library",
        )
    name = os.path.basename(archive)
    if not (name.startswith("lib") and name.endswith(".a") and os.path.isfile(archive)):
        raise UsageError(
            "not a static library file named lib<name>.a",
            path=archive,
            fix="pass the path of an existing libpython3.X.a",
        )
    lib_dir = os.path.dirname(os.path.abspath(archive))
    # Debian's PIC archive is libpython3.11-pic.a, so the -l name must follow the file.
    lib_name = os.path.basename(archive)[len("lib") : -len(".a")]
    # PyO3 would print `cargo:rustc-link-lib=static=python3.11`: no whole-archive, and no
    # system libraries. We suppress that and emit the full set from pyo3-ffi's build
    # script, where link-lib and link-search lines do propagate to the final link.
    lines = [
        f"cargo:rustc-link-search=native={lib_dir}",
        f"{_STATIC_LINK_LINE}:+whole-archive={lib_name}",
        *_system_link_lines(interpreter),
    ]
    return dataclasses.replace(
        _base(interpreter),
        shared=False,
        lib_name=lib_name,
        lib_dir=lib_dir,
        suppress_build_script_link_lines=True,
        extra_build_script_lines=tuple(lines),
    )


def _system_link_lines(interpreter: Interpreter) -> list[str]:
    """The libraries a static libpython needs: those every system has stay shared; others
    (libexpat, which a minimal Debian lacks) are linked in when their archive is here, so a
    onefile program needs nothing of the target beyond glibc, libgcc_s and zlib."""
    lines: list[str] = []
    for name in interpreter.link_libraries:
        shared = any(library.startswith(f"lib{name}.so.") for library in ALLOWED_LIBRARIES)
        if shared or _system_archive(name, interpreter) is None:
            lines.append(f"cargo:rustc-link-lib={name}")
        else:
            # -bundle: the linker finds the archive on its own search path at the final link.
            lines.append(f"cargo:rustc-link-lib=static:-bundle={name}")
    return lines


def _system_archive(name: str, interpreter: Interpreter) -> str | None:
    """lib`name`.a in the directories the linker searches for this interpreter's build."""
    multiarch = interpreter.multiarch
    directories = [interpreter.libdir, "/usr/local/lib"]
    if multiarch:
        directories += [f"/usr/lib/{multiarch}", f"/lib/{multiarch}"]
    directories += ["/usr/lib", "/lib"]
    for directory in directories:
        if directory and os.path.isfile(os.path.join(directory, f"lib{name}.a")):
            return os.path.join(directory, f"lib{name}.a")
    return None


def for_auto_initialize(config: PyO3Config) -> PyO3Config:
    """`config`, made to pass the check of PyO3's `auto-initialize` feature.

    The feature's build script (PyO3 0.20 to 0.30 alike) refuses `shared=false`, and
    `shared` decides nothing else there but PyO3's own link line. A static config
    suppresses that line and links the archive itself, so saying `shared=true` changes
    only the check: the archive is still what is linked.
    """
    if config.mode is not Mode.STATIC or not config.suppress_build_script_link_lines:
        return config
    return dataclasses.replace(config, shared=True)


def locked_pyo3_version(crate_dir: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """The PyO3 version the crate's Cargo.lock (or its workspace's) pins, if one does."""
    directory = Path(crate_dir).absolute()
    for folder in (directory, *directory.parents):
        lock = folder / "Cargo.lock"
        if lock.is_file():
            return _pyo3_in_lock(lock)
    return None


def _pyo3_in_lock(lock: Path) -> tuple[int, int, int] | None:
    try:
        packages = tomllib.loads(lock.read_text(encoding="utf-8")).get("package", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # cargo reports a broken lock file better than we can
    found: list[tuple[int, int, int]] = []
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and package.get("name") == "pyo3":
            numbers = str(package.get("version", "")).split("-")[0].split(".")
            if len(numbers) == 3 and all(n.isascii() and n.isdigit() for n in numbers):
                found.append((int(numbers[0]), int(numbers[1]), int(numbers[2])))
    return max(found, default=None)


def _ordered_flags(flags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    known = [flag for flag in _BUILD_FLAG_ORDER if flag in flags]
    return tuple(known + sorted(set(flags) - set(known)))


def render(config: PyO3Config) -> str:
    """The config as PyO3 writes it: key=value lines in `to_writer` order."""
    lines = [f"implementation={config.implementation}", f"version={config.version}"]
    lines.append(f"shared={_bool(config.shared)}")
    if config.target_abi is not None:
        lines.append(f"target_abi={config.target_abi}")
    elif config.abi3 is not None:
        lines.append(f"abi3={_bool(config.abi3)}")
    optional = (
        ("lib_name", config.lib_name),
        ("lib_dir", config.lib_dir),
        ("executable", config.executable),
        ("pointer_width", config.pointer_width),
    )
    lines.extend(f"{key}={value}" for key, value in optional if value is not None)
    lines.append(f"build_flags={','.join(config.build_flags)}")
    if config.python_framework_prefix is not None:
        lines.append(f"python_framework_prefix={config.python_framework_prefix}")
    lines.append(
        f"suppress_build_script_link_lines={_bool(config.suppress_build_script_link_lines)}"
    )
    lines.extend(f"extra_build_script_line={line}" for line in config.extra_build_script_lines)
    for line in lines:
        if "\n" in line or "\r" in line:
            raise InterpreterError(f"config value contains a line break: {line!r}")
    return "\n".join(lines) + "\n"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def parse(text: str, *, source: str = "<config>") -> PyO3Config:
    """Parse a PyO3 config file, or cargo output holding a PYO3_PRINT_CONFIG block."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == PRINT_CONFIG_START]
    if starts:
        body = []
        for line in lines[starts[-1] + 1 :]:
            stripped = line.strip()
            if stripped.startswith(PRINT_CONFIG_END):
                break
            # cargo indents a build script's stdout by two spaces; blank lines frame the block.
            if stripped:
                body.append((line[2:] if line.startswith("  ") else line).rstrip("\r"))
        return _parse_lines(body, source)
    return _parse_lines(lines, source, strict=True)


def _parse_lines(lines: list[str], source: str, *, strict: bool = False) -> PyO3Config:
    values: dict[str, str] = {}
    extra: list[str] = []
    for number, line in enumerate(lines, start=1):
        key, sep, value = line.partition("=")
        if not sep:
            if not strict and not line.strip():
                continue
            raise UnreadableInputError(
                f"line {number}: expected key=value, got {line!r}",
                path=source,
                fix="PyO3 config files allow only key=value lines (no blank lines or comments)",
            )
        if key == "extra_build_script_line":
            extra.append(value)  # PyO3 keeps these verbatim, surrounding spaces included
        elif key in _KNOWN_KEYS:
            values[key] = value.strip()
        # Unknown keys: PyO3 only warns, so a newer PyO3's file still parses.
    if "version" not in values:
        raise UnreadableInputError(
            "missing value for version",
            path=source,
            fix="add a line such as version=3.11",
        )
    try:
        return PyO3Config(
            version=values["version"],
            implementation=values.get("implementation", "CPython"),
            shared=_parse_bool(values.get("shared", "true"), "shared"),
            target_abi=values.get("target_abi"),
            abi3=_parse_bool(values["abi3"], "abi3") if "abi3" in values else None,
            lib_name=values.get("lib_name"),
            lib_dir=values.get("lib_dir"),
            executable=values.get("executable"),
            pointer_width=int(values["pointer_width"]) if "pointer_width" in values else None,
            build_flags=_ordered_flags([f for f in values.get("build_flags", "").split(",") if f]),
            python_framework_prefix=values.get("python_framework_prefix"),
            suppress_build_script_link_lines=_parse_bool(
                values.get("suppress_build_script_link_lines", "false"),
                "suppress_build_script_link_lines",
            ),
            extra_build_script_lines=tuple(extra),
        )
    except ValueError as exc:
        raise UnreadableInputError(str(exc), path=source, fix="correct the value") from exc


_KNOWN_KEYS = frozenset(
    (
        "implementation",
        "version",
        "shared",
        "target_abi",
        "abi3",
        "lib_name",
        "lib_dir",
        "executable",
        "pointer_width",
        "build_flags",
        "python_framework_prefix",
        "suppress_build_script_link_lines",
    )
)


def _parse_bool(value: str, key: str) -> bool:
    # Rust's bool::from_str accepts exactly these two spellings.
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError(f"{key}: expected true or false, got {value!r}")


def config_file_path(config: PyO3Config, target_dir: str | os.PathLike[str]) -> Path:
    """Where write_config_file puts `config`: one file per mode under the cargo target dir."""
    name = config.mode.value
    if config.mode is Mode.STATIC and config.shared:
        name += "-auto-initialize"  # see for_auto_initialize
    return Path(target_dir).absolute() / "packager" / f"pyo3-config-{name}.txt"


def write_config_file(config: PyO3Config, target_dir: str | os.PathLike[str]) -> Path:
    """Write the config for PYO3_CONFIG_FILE; untouched when unchanged, so cargo stays fresh."""
    path = config_file_path(config, target_dir)
    write_text_if_changed(path, render(config))
    return path
