"""`packager inspect`: describe how binaries link libpython."""

from __future__ import annotations

import os
import sys

import click

from packager.binary.checks import check_result
from packager.cli.options import echo_errors, jobs_option, json_option, run_inspect
from packager.core.errors import EXIT_CLEAN, EXIT_USAGE, UsageError
from packager.reporting.inspect import to_json, to_text


@click.command("inspect")
@click.argument("paths", nargs=-1, type=click.Path())
@json_option
@click.option("--symbols", is_flag=True, help="List the Python symbols, not just count them.")
@click.option(
    "--sbom",
    "sbom_path",
    type=click.Path(),
    help="Read the SBOM of a bundle folder, archive (.tar.gz, .tar.zst, .zip, .deb), "
    "onefile program or .cdx.json file instead: its components as text, or the document "
    "with --json.",
)
@jobs_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    as_json: bool,
    symbols: bool,
    sbom_path: str | None,
    jobs: int | None,
) -> None:
    """Report how each binary links libpython, without ever running it.

    PATHS are ELF, Mach-O or PE files, or directories to walk (files that are not
    binaries are skipped and counted). For each binary: format, architecture, kind,
    link mode (dynamic, static or none), Python version, rpaths, needed libraries and
    where they resolve on this host, its Python symbols, and the findings `packager
    check` reports for it (inspect's exit code does not depend on them).

    \b
    Exit codes: 0 all read, 2 a file could not be read (the rest are still reported),
    130 interrupted. Never 3: inspect runs no external tool.

    \b
    Examples:
      packager inspect /usr/bin/python3.11
      packager inspect --json --symbols target/release/myapp
      packager inspect --jobs 4 /usr/lib/x86_64-linux-gnu
      packager inspect --sbom dist/hello.tar.zst
    """
    if sbom_path is not None or not paths:
        _inspect_sbom(sbom_path, paths, as_json)
        return
    result = check_result(run_inspect(ctx, paths, jobs))
    if as_json:
        click.echo(to_json(result, symbols=symbols))
    else:
        text = to_text(result, symbols=symbols)
        if text:
            click.echo(text)
    echo_errors(result)
    sys.exit(EXIT_USAGE if result.errors else EXIT_CLEAN)


def _inspect_sbom(path: str | None, paths: tuple[str, ...], as_json: bool) -> None:
    """`inspect --sbom PATH`: print the SBOM's components, or the document with --json."""
    if path is None or paths:
        raise UsageError(
            "give PATHS to inspect binaries, or --sbom PATH to read an SBOM, not both"
            if paths
            else "nothing to inspect",
            fix="e.g. packager inspect target/release/myapp, or packager inspect --sbom dist/hello",
        )
    from packager.reporting import sbom  # tarfile, zipfile: only for --sbom

    document = sbom.load_sbom(path, os.environ)
    click.echo(sbom.to_json(document) if as_json else sbom.to_text(document))
