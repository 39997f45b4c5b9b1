"""`packager config`: show the PyO3 configuration a build would use, or list interpreters."""

from __future__ import annotations

import os
from collections.abc import Mapping

import click

from packager.cli.options import json_option, mode_option, progress_context, target_option
from packager.core.context import cache_root
from packager.core.errors import InterpreterError
from packager.crate.pyo3_config import Mode, config_for
from packager.python.discovery import Candidate, Discovered, Discovery, discover, select_interpreter
from packager.python.interpreters import probe
from packager.reporting.config import list_to_json, list_to_text, to_json, to_text


@click.command("config")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter to use (a path, a name looked up on PATH, or runtime:3.X for a built "
    "portable runtime). Default: PYO3_PYTHON, an active virtualenv, then python3 / python3.X "
    "on PATH. With a Windows --target: the CPython release to fetch (3.X).",
)
@mode_option(
    "auto: what PyO3 itself picks; dynamic: link libpython3.X.so; "
    "static: link libpython3.X.a (whole-archive, with its system libraries)."
)
@click.option(
    "--list",
    "list_all",
    is_flag=True,
    help="List the interpreters found instead (with pyenv's installed versions).",
)
@target_option
@click.option(
    "--python-home",
    metavar="DIR",
    help="With --target: the target's CPython: for Windows the embeddable package "
    "unpacked, for aarch64 a root holding Debian's arm64 libpython3.X-dev (default: the "
    "aarch64 portable runtime, built into the cache on first use).",
)
@json_option
def command(
    python: str | None,
    mode: str,
    list_all: bool,
    target: str | None,
    python_home: str | None,
    as_json: bool,
) -> None:
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
      packager config --target x86_64-pc-windows-gnu --python-home python-3.11-embed-amd64
      packager config --target aarch64-unknown-linux-gnu --python-home arm64-root --json
    """
    environ: Mapping[str, str] = os.environ
    if list_all:
        found = discover(environ, python)
        found = Discovery((*found.found, *_built_runtimes(environ)), found.notes)
        click.echo(list_to_json(found) if as_json else list_to_text(found))
        return
    if target is not None:
        # The config text ends in a newline of its own; the JSON does not.
        click.echo(_target_report(target, python_home, mode, python, as_json), nl=as_json)
        return
    interpreter = select_interpreter(environ, python)
    config = config_for(interpreter, Mode(mode))
    if as_json:
        click.echo(to_json(interpreter, Mode(mode), config))
    else:
        click.echo(to_text(config), nl=False)


def _built_runtimes(environ: Mapping[str, str]) -> list[Discovered]:
    """The portable runtimes `packager runtime build` made, probed like any interpreter."""
    from packager.python.portable import list_runtimes

    found: list[Discovered] = []
    for runtime in list_runtimes(cache_root(environ)):
        candidate = Candidate(runtime.executable, runtime.selector)
        try:
            found.append(Discovered(candidate, probe(runtime.executable, environ), None))
        except InterpreterError as exc:
            found.append(Discovered(candidate, None, exc.message))
    return found


def _target_report(
    target: str, python_home: str | None, mode: str, python: str | None, as_json: bool
) -> str:
    """The config `build --target` writes (PyO3 derives the same from PYO3_CROSS_LIB_DIR),
    as PYO3_PRINT_CONFIG prints it, or as JSON."""
    from packager.crate.cross_build import target_config
    from packager.python.target_python import target_python_home
    from packager.reporting.config import target_to_json
    from packager.targets import cross_target

    chosen = cross_target(target)
    home = target_python_home(chosen, python, python_home, progress_context())
    found = target_config(chosen, python_home=home, mode=mode)
    if as_json:
        return target_to_json(chosen, found, Mode(mode))
    return to_text(found.config)
