"""`packager config`: show the PyO3 configuration a build would use, or list interpreters."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict

import click

from packager.cli.options import json_option, mode_option
from packager.context import cache_root
from packager.discovery import Candidate, Discovered, discover, select_interpreter
from packager.errors import InterpreterError
from packager.interpreters import Interpreter, probe
from packager.pyo3_config import Mode, PyO3Config, config_for, render

SCHEMA_VERSION = 1


@click.command("config")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter to use (a path, a name looked up on PATH, or runtime:3.X for a built "
    "portable runtime). Default: PYO3_PYTHON, an active virtualenv, then python3 / python3.X "
    "on PATH.",
)
@mode_option(
    "auto: what PyO3 itself picks; dynamic: link libpython3.X.so; "
    "static: link libpython3.X.a (whole-archive, with its system libraries)."
)
@click.option("--list", "list_all", is_flag=True, help="List the interpreters found instead.")
@json_option
def command(python: str | None, mode: str, list_all: bool, as_json: bool) -> None:
    """Print the PyO3 config a build would use, in PYO3_PRINT_CONFIG's key=value shape.

    The output is a valid PYO3_CONFIG_FILE. A static config suppresses PyO3's own link
    lines and names the archive with whole-archive plus the libraries it needs; the
    binary must still be linked with -Wl,--export-dynamic (from its own build.rs or
    RUSTFLAGS: link arguments from PyO3's build script never reach it).

    \b
    Examples:
      packager config
      packager config --python /usr/bin/python3.11 --mode static > pyo3.cfg
      PYO3_CONFIG_FILE=$PWD/pyo3.cfg cargo build
      packager config --list
      packager config --json --mode dynamic
    """
    environ: Mapping[str, str] = os.environ
    if list_all:
        found = discover(environ, python) + _built_runtimes(environ)
        click.echo(_list_json(found) if as_json else _list_text(found), nl=not as_json)
        return
    interpreter = select_interpreter(environ, python)
    config = config_for(interpreter, Mode(mode))
    if as_json:
        click.echo(_config_json(interpreter, Mode(mode), config))
    else:
        click.echo(render(config), nl=False)


def _built_runtimes(environ: Mapping[str, str]) -> list[Discovered]:
    """The portable runtimes `packager runtime build` made, probed like any interpreter."""
    from packager.portable import list_runtimes

    found: list[Discovered] = []
    for runtime in list_runtimes(cache_root(environ)):
        candidate = Candidate(runtime.executable, runtime.selector)
        try:
            found.append(Discovered(candidate, probe(runtime.executable, environ), None))
        except InterpreterError as exc:
            found.append(Discovered(candidate, None, exc.message))
    return found


def _config_json(interpreter: Interpreter, mode: Mode, config: PyO3Config) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "interpreter": _interpreter_summary(interpreter),
        "requested_mode": mode.value,
        "mode": config.mode.value,
        "config": {**asdict(config), "text": render(config)},
    }
    return json.dumps(document, indent=2)


def _interpreter_summary(interpreter: Interpreter) -> dict[str, object]:
    return {
        "path": interpreter.path,
        "executable": interpreter.executable,
        "version": interpreter.version,
        "implementation": interpreter.implementation,
        "enable_shared": interpreter.enable_shared,
        "shared_library": interpreter.shared_library,
        "static_archives": list(interpreter.static_archives),
        "link_libraries": list(interpreter.link_libraries),
        "free_threaded": interpreter.free_threaded,
        "embedding_problem": interpreter.embedding_problem,
    }


def _list_entries(found: list[Discovered]) -> list[dict[str, object]]:
    """One record per candidate: the single source of both the text and the JSON listing."""
    entries: list[dict[str, object]] = []
    for item in found:
        entry: dict[str, object] = {"path": item.candidate.path, "source": item.candidate.source}
        if item.interpreter is None:
            entry.update(usable=False, problem=item.error)
        else:
            problem = item.interpreter.embedding_problem
            entry.update(_interpreter_summary(item.interpreter))
            entry.update(usable=problem is None, problem=problem)
        entries.append(entry)
    return entries


def _list_json(found: list[Discovered]) -> str:
    return json.dumps({"schema_version": SCHEMA_VERSION, "interpreters": _list_entries(found)})


def _list_text(found: list[Discovered]) -> str:
    if not found:
        return "no Python interpreters found (give one with --python or PYO3_PYTHON)"
    blocks = []
    for entry in _list_entries(found):
        head = f"{entry['path']}  [{entry['source']}]"
        if "version" not in entry:
            blocks.append(f"{head}\n  unusable: {entry['problem']}")
            continue
        archives = entry["static_archives"]
        static = ", ".join(map(str, archives)) if isinstance(archives, list) else ""
        lines = [
            f"{head}\n  {entry['implementation']} {entry['version']}",
            f"  shared: {entry['shared_library'] or 'none'}",
            f"  static: {static or 'none'}",
        ]
        if entry["problem"]:
            lines.append(f"  unusable: {entry['problem']}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)
