"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import os

import click

from packager.cli.main import is_debug
from packager.inspect import inspect_paths
from packager.model import InspectResult

jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Files to read in parallel (default: one per CPU for large walks).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print versioned JSON.")


def run_inspect(ctx: click.Context, paths: tuple[str, ...], jobs: int | None) -> InspectResult:
    """Inspect `paths` with the process environment, as every inspecting command does."""
    return inspect_paths(
        list(paths), environ=os.environ, jobs=jobs, raise_internal_errors=is_debug(ctx)
    )


def echo_errors(result: InspectResult) -> None:
    """One line per unreadable file on stderr, naming the file."""
    for error in result.errors:
        click.echo(f"packager: error: {error.path}: {error.message}", err=True)
