"""`build`: run cargo on a PyO3 crate so it embeds Python dynamically or statically.

The tool chooses the interpreter, writes the PyO3 config file, generates the inittab
registration when the crate uses it, passes its linker flags through
CARGO_ENCODED_RUSTFLAGS (after the user's own), diagnoses a static archive before the
link, explains known failures, and checks what it built.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packager.binary.checks import check_result
from packager.binary.inspect import inspect_paths
from packager.binary.model import InspectResult
from packager.binary.staticlib import describe, diagnose_archive
from packager.core import runner
from packager.core.errors import ToolError, UsageError
from packager.core.runner import Echo
from packager.crate.crate_runtime import (
    RUNTIME_FILE,
    start_up_link_args,
    start_up_supported,
    write_runtime,
)
from packager.crate.inittab import (
    INITTAB_FILE,
    check_names,
    find_modules,
    reserved_names,
    write_inittab,
)
from packager.crate.pyo3_config import (
    STATIC_BINARY_LINK_ARGS,
    Mode,
    PyO3Config,
    config_for,
    for_auto_initialize,
    locked_pyo3_version,
    write_config_file,
)
from packager.crate.workspace import (
    Selection,
    find_crate_dir,
    load_manifest,
    resolved_features,
    select_package,
)
from packager.python.discovery import select_interpreter
from packager.python.interpreters import Interpreter

if TYPE_CHECKING:
    from packager.python.portable import Runtime


class BuildFailed(ToolError):
    """cargo failed; carries the recognised causes so the CLI can show them."""

    def __init__(self, message: str, *, output: str, returncode: int | None) -> None:
        from packager.crate.diagnose import diagnose, relevant_lines

        self.diagnoses = diagnose(output)
        self.shown_lines = relevant_lines(output)
        super().__init__(message, output=output, returncode=returncode, fix=self._fix_text())

    def details(self) -> list[str]:
        """None: cargo's output was streamed, and its relevant lines are shown by the CLI."""
        return []

    def _fix_text(self) -> str | None:
        if not self.diagnoses:
            return None
        return "; ".join(f"{d.cause}: {d.fix}" for d in self.diagnoses)


@dataclass(frozen=True)
class BuildOutcome:
    """What a build produced and what `check` found in it."""

    crate_dir: str
    binaries: tuple[str, ...]
    mode: Mode  # dynamic or static, never auto
    python_version: str
    interpreter: str
    config_file: str
    modules: tuple[str, ...]  # Python names of the crate's #[pymodule]s
    dependency_modules: tuple[str, ...]  # #[pymodule]s of crates it uses by path, "name (crate)"
    inittab_generated: bool  # the crate uses src/packager_inittab.rs
    notes: tuple[str, ...]  # decisions taken on the user's behalf (e.g. a non-PIE link)
    check: InspectResult

    @property
    def sizes(self) -> dict[str, int]:
        """Size in bytes of each built binary."""
        return {path: os.path.getsize(path) for path in self.binaries}


def build_crate(
    crate: str | os.PathLike[str],
    *,
    environ: Mapping[str, str],
    mode: Mode | str = Mode.AUTO,
    python: str | None = None,
    static_library: str | None = None,
    release: bool = False,
    package: str | None = None,
    binary: str | None = None,
    echo: Echo | None = None,
    on_line: Echo | None = None,
    note: Echo | None = None,
) -> BuildOutcome:
    """Build `crate` with cargo; raise BuildFailed (with diagnoses) when cargo fails.

    `crate` may be a workspace: `package` and `binary` choose as cargo's -p and --bin do.
    """
    selection = select_package(
        find_crate_dir(crate), package=package, binary=binary, environ=environ
    )
    crate_dir = selection.package.directory
    manifest = _read_manifest(crate_dir)
    cargo = runner.require("cargo", environ, fix="install Rust with rustup (https://rustup.rs)")
    runner.require("cc", environ, fix="install a C toolchain (Debian: apt-get install gcc)")
    target_dir = selection.target_dir
    interpreter = select_interpreter(environ, python, cache_dir=target_dir / "packager" / "probe")
    config = config_for(interpreter, mode, static_archive=static_library)
    notes: list[str] = []
    config, non_pie = _static_config(config, manifest, selection, environ, notes)
    modules, generated, config_file = _write_crate_files(crate_dir, interpreter, config, target_dir)
    start_up = _start_up_args(interpreter, target_dir, environ, echo=echo)
    for line in notes:
        if note is not None:
            note(line)

    rustflags = _link_rustflags(
        config, interpreter, target_dir, environ, non_pie=non_pie, start_up=start_up, note=note
    )
    argv = _cargo_argv(cargo, selection, environ, release=release, non_pie=non_pie)
    cargo_environ = _cargo_environ(environ, config_file, interpreter, rustflags)
    binaries = run_cargo(argv, cargo_environ, crate_dir, echo=echo, on_line=on_line)
    inspected = inspect_paths(binaries, environ={}, jobs=1)
    checked = check_result(inspected, expect_modules=modules)
    return BuildOutcome(
        crate_dir=str(crate_dir),
        binaries=tuple(binaries),
        mode=config.mode,
        python_version=interpreter.version,
        interpreter=interpreter.executable,
        config_file=str(config_file),
        modules=modules,
        dependency_modules=dependency_modules(selection),
        inittab_generated=generated,
        notes=tuple(notes),
        check=checked,
    )


def _static_config(
    config: PyO3Config,
    manifest: Mapping[str, object],
    selection: Selection,
    environ: Mapping[str, str],
    notes: list[str],
) -> tuple[PyO3Config, bool]:
    """The config adjusted for a static link, and whether that link must be non-PIE."""
    if config.mode is not Mode.STATIC:
        return config, False
    non_pie = _check_archive(config, notes)
    if _uses_auto_initialize(manifest) or _auto_initialize_resolved(selection, environ):
        config = for_auto_initialize(config)
        notes.append(_auto_initialize_note(config, selection.package.directory))
    return config, non_pie


def _write_crate_files(
    crate_dir: Path, interpreter: Interpreter, config: PyO3Config, target_dir: Path
) -> tuple[tuple[str, ...], bool, Path]:
    """Write what cargo reads; the crate's modules, whether its inittab is ours, the config."""
    modules, generated = _prepare_inittab(crate_dir, interpreter)
    if (crate_dir / "src" / RUNTIME_FILE).exists():
        write_runtime(crate_dir)  # the crate calls packager_runtime::initialize()
    return modules, generated, write_config_file(config, target_dir)


def _start_up_args(
    interpreter: Interpreter, target_dir: Path, environ: Mapping[str, str], *, echo: Echo | None
) -> tuple[str, ...]:
    """The link arguments of packager's start-up code; none where it is not supported."""
    if not start_up_supported():
        return ()
    return start_up_link_args(interpreter, target_dir, environ, echo=echo)


def _link_rustflags(
    config: PyO3Config,
    interpreter: Interpreter,
    target_dir: Path,
    environ: Mapping[str, str],
    *,
    non_pie: bool,
    start_up: Sequence[str],
    note: Echo | None,
) -> list[str]:
    """packager's rustc flags: link lines, start-up objects and the glibc floor's linker."""
    rustflags = _our_rustflags(config, interpreter, non_pie=non_pie)
    rustflags += [f"-Clink-arg={arg}" for arg in start_up]
    floor = runtime_floor(interpreter)
    if floor is not None:
        rustflags.append(f"-Clinker={_floor_linker(floor, target_dir, environ)}")
        if note is not None:
            note(
                f"linked with zig for glibc {floor.glibc_text}, the floor of the portable "
                f"runtime {floor.version}: the program runs wherever the runtime does"
            )
    return rustflags


def _cargo_argv(
    cargo: str,
    selection: Selection,
    environ: Mapping[str, str],
    *,
    release: bool,
    non_pie: bool,
) -> list[str]:
    """The `cargo build` command line, with JSON messages to find what it built."""
    argv = [cargo, "build", *selection.cargo_args(), "--message-format=json-render-diagnostics"]
    if release:
        argv.append("--release")
    if non_pie:
        # With an explicit --target, RUSTFLAGS reach only the target's crates, not build
        # scripts and proc-macros, which must stay position-independent.
        argv += ["--target", _host_triple(environ)]
    return argv


def _read_manifest(crate_dir: Path) -> dict[str, object]:
    return load_manifest(crate_dir / "Cargo.toml")


def _uses_auto_initialize(manifest: Mapping[str, object]) -> bool:
    """Whether the crate turns on pyo3's `auto-initialize`: in its pyo3 dependency (for
    every target or one) or through one of its own features."""
    tables = [manifest.get("dependencies")]
    targets = manifest.get("target")
    if isinstance(targets, dict):
        tables += [t.get("dependencies") for t in targets.values() if isinstance(t, dict)]
    for table in tables:
        pyo3 = table.get("pyo3") if isinstance(table, dict) else None
        features = pyo3.get("features", []) if isinstance(pyo3, dict) else []
        if isinstance(features, list) and "auto-initialize" in features:
            return True
    own_features = manifest.get("features")
    enabled = own_features.values() if isinstance(own_features, dict) else []
    wanted = {"pyo3/auto-initialize", "pyo3?/auto-initialize"}
    return any(isinstance(items, list) and wanted & set(items) for items in enabled)


def _auto_initialize_resolved(selection: Selection, environ: Mapping[str, str]) -> bool:
    """Whether a crate of the dependency graph (a library of the workspace, say) turns on
    pyo3's `auto-initialize`: cargo unifies features, so the program gets it too."""
    features = resolved_features(selection, "pyo3", environ=environ)
    return features is not None and "auto-initialize" in features


def _auto_initialize_note(config: PyO3Config, crate_dir: Path) -> str:
    locked = locked_pyo3_version(crate_dir)
    pyo3 = "PyO3 " + ".".join(map(str, locked)) if locked else "PyO3"
    return (
        f"{pyo3}'s `auto-initialize` feature accepts only a config with shared=true, so the "
        f"config file says so; libpython is still linked statically from {config.lib_dir}/"
        f"lib{config.lib_name}.a, by packager's link lines (PyO3's own are suppressed)"
    )


def runtime_floor(interpreter: Interpreter) -> Runtime | None:
    """The portable runtime `interpreter` belongs to, whose glibc floor the program is
    linked for; None for any other interpreter."""
    from packager.python.portable import read_runtime

    return read_runtime(interpreter.prefix)


def _floor_linker(runtime: Runtime, target_dir: Path, environ: Mapping[str, str]) -> str:
    from packager.python.portable.toolchain import find_zig, write_linker

    directory = target_dir / "packager"
    return write_linker(find_zig(environ), runtime.arch, runtime.glibc_text, str(directory))


def dependency_modules(selection: Selection) -> tuple[str, ...]:
    """The #[pymodule]s declared in the crates the package uses by path, as "name (crate)"."""
    found: list[str] = []
    for crate, directory in selection.package.path_dependencies:
        if (directory / "src").is_dir():
            found += [f"{m.python_name} ({crate})" for m in find_modules(directory)]
    return tuple(found)


def _check_archive(config: PyO3Config, notes: list[str]) -> bool:
    """Diagnose the static archive before linking; True when the link must be non-PIE."""
    assert config.lib_dir is not None and config.lib_name is not None
    archive = os.path.join(config.lib_dir, f"lib{config.lib_name}.a")
    diagnosis = diagnose_archive(archive)
    if diagnosis.lto is not None:
        raise UsageError(
            describe(diagnosis)[0],
            path=archive,
            fix="use a libpython.a built without LTO, or --mode dynamic",
        )
    if diagnosis.pic is False:
        notes.append(
            f"{archive} is not position-independent ({diagnosis.non_pic_relocations} absolute "
            f"relocations in {diagnosis.non_pic_member_count} objects, e.g. "
            f"{', '.join(diagnosis.non_pic_members)}): linking a non-PIE executable "
            "(-C relocation-model=static) instead of failing with 'recompile with -fPIC'"
        )
        return True
    return False


def _prepare_inittab(crate_dir: Path, interpreter: Interpreter) -> tuple[tuple[str, ...], bool]:
    modules = find_modules(crate_dir)
    generated = (crate_dir / "src" / INITTAB_FILE).exists()
    if generated:
        reserved = reserved_names(interpreter.builtin_module_names, interpreter.stdlib_module_names)
        check_names(modules, reserved)
        write_inittab(crate_dir, modules)
    return tuple(module.python_name for module in modules), generated


def _our_rustflags(config: PyO3Config, interpreter: Interpreter, *, non_pie: bool) -> list[str]:
    if config.mode is Mode.STATIC:
        flags = [f"-Clink-arg={arg}" for arg in STATIC_BINARY_LINK_ARGS]
        if non_pie:
            flags.append("-Crelocation-model=static")
        return flags
    # PyO3 asks for an rpath to the interpreter's libdir from a dependency's build script,
    # where cargo drops it; without one the loader may pick another libpython3.X.so.
    assert config.lib_dir is not None
    library_dir = os.path.dirname(interpreter.shared_library or "") or config.lib_dir
    return [f"-Clink-arg=-Wl,-rpath,{library_dir}"]


def _cargo_environ(
    environ: Mapping[str, str], config_file: Path, interpreter: Interpreter, ours: Sequence[str]
) -> dict[str, str]:
    cargo_environ = dict(environ)
    for name in ("PYO3_PRINT_CONFIG", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"):
        cargo_environ.pop(name, None)
    if not cargo_environ.get("CARGO_TARGET_DIR"):
        cargo_environ.pop("CARGO_TARGET_DIR", None)  # cargo rejects an empty one
    cargo_environ["PYO3_CONFIG_FILE"] = str(config_file)
    cargo_environ["PYO3_PYTHON"] = interpreter.executable
    flags = [*user_rustflags(environ), *ours]
    cargo_environ["CARGO_ENCODED_RUSTFLAGS"] = "\x1f".join(flags)
    return cargo_environ


def user_rustflags(environ: Mapping[str, str]) -> list[str]:
    """The flags the user already passes to rustc, in cargo's order of precedence."""
    encoded = environ.get("CARGO_ENCODED_RUSTFLAGS")
    if encoded:
        return encoded.split("\x1f")
    return shlex.split(environ.get("RUSTFLAGS", ""))


def _host_triple(environ: Mapping[str, str]) -> str:
    rustc = runner.require("rustc", environ, fix="install Rust with rustup (https://rustup.rs)")
    output = runner.run([rustc, "-vV"], environ=environ).stdout
    return parse_host_triple(output)


def parse_host_triple(rustc_version_output: str) -> str:
    """The `host:` line of `rustc -vV`."""
    for line in rustc_version_output.splitlines():
        if line.startswith("host:"):
            return line.split(":", 1)[1].strip()
    raise ToolError("`rustc -vV` printed no host triple", output=rustc_version_output)


def run_cargo(
    argv: Sequence[str],
    cargo_environ: Mapping[str, str],
    crate_dir: Path,
    *,
    echo: Echo | None,
    on_line: Echo | None,
    what: str = "cargo build",
) -> list[str]:
    """Run a `cargo build` that prints JSON messages; the executables it built.

    Raises BuildFailed with cargo's output when it fails, UsageError when it built none.
    """
    result = runner.run(
        argv, environ=cargo_environ, check=False, echo=echo, on_line=on_line or (lambda _: None)
    )
    if result.returncode != 0:
        raise BuildFailed(
            f"{what} failed with exit code {result.returncode}",
            output=result.stderr + result.stdout,
            returncode=result.returncode,
        )
    binaries = _built_binaries(result.stdout)
    if not binaries:
        raise UsageError(
            "cargo built no executable",
            path=str(crate_dir),
            fix="packager build builds binary crates: add src/main.rs or a [[bin]] target",
        )
    return binaries


def _built_binaries(cargo_json: str) -> list[str]:
    """Executables from cargo's JSON messages (`compiler-artifact` with an executable)."""
    binaries: list[str] = []
    for line in cargo_json.splitlines():
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("reason") != "compiler-artifact":
            continue
        executable = message.get("executable")
        if executable and "bin" in message.get("target", {}).get("kind", []):
            binaries.append(executable)
    return binaries
