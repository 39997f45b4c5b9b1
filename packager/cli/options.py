"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from packager.cli.main import is_debug

if TYPE_CHECKING:
    from types import FrameType

    from packager.binary.model import InspectResult
    from packager.core.context import Context

# The link modes of packager.crate.pyo3_config.Mode, spelled out so that a command's options do
# not import the configuration module before it runs.
LINK_MODES = ("auto", "dynamic", "static")
# packager.bundle.options.DEFAULT_OUT, spelled out for the same reason: where `bundle`
# writes without --out, relative to the working directory.
DEFAULT_OUT = "dist"

jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes reading files in parallel (default: read in this process, and add "
    "one per CPU only when the work measured so far says they pay for their start-up).",
)
target_option = click.option(
    "--target",
    metavar="TRIPLE",
    help="Build for another system, named as cargo names it: x86_64-pc-windows-gnu "
    "(with --python 3.X or --python-home) or aarch64-unknown-linux-gnu.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print versioned JSON.")
package_option = click.option(
    "-p",
    "--package",
    metavar="NAME",
    help="In a workspace, the member to build (as cargo's -p).  [default: the crate at "
    "CRATE, or the one member with a program]",
)
bin_option = click.option(
    "--bin", "binary", metavar="NAME", help="The binary of a package that has several."
)


def mode_option(help_text: str) -> Callable[[Any], Any]:
    """The --mode option (auto, dynamic or static) with a command's own help text."""
    return click.option(
        "--mode",
        type=click.Choice(LINK_MODES),
        default="auto",
        show_default=True,
        help=help_text,
    )


def run_inspect(ctx: click.Context, paths: tuple[str, ...], jobs: int | None) -> InspectResult:
    """Inspect `paths` with the process environment, as every inspecting command does."""
    from packager.binary.inspect import inspect_paths

    return inspect_paths(
        list(paths), environ=os.environ, jobs=jobs, raise_internal_errors=is_debug(ctx)
    )


def echo_errors(result: InspectResult) -> None:
    """One line per unreadable file on stderr, naming the file."""
    for error in result.errors:
        click.echo(f"packager: error: {error.path}: {error.message}", err=True)


def interrupt_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so staging and work directories are cleaned up."""
    import signal  # only bundle and runtime need it: not paid by inspect's start-up

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def progress_printer() -> Callable[[str], None]:
    """Report a long step on stderr, one line each, with the seconds since the command began."""
    started = time.monotonic()

    def progress(line: str) -> None:
        click.echo(f"packager: [{time.monotonic() - started:6.1f} s] {line}", err=True)

    return progress


def progress_context() -> Context:
    """The process environment, with long steps reported one line each on stderr."""
    from packager.core.context import Context

    return Context(os.environ, progress=progress_printer())
