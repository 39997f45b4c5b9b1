"""`packager check`: inspect binaries and report what is wrong as findings."""

from __future__ import annotations

import os
import sys

import click

from packager.binary.checks import check_result, worst_severity
from packager.binary.floor import parse_floor
from packager.binary.model import Severity
from packager.cli.options import echo_errors, jobs_option, json_option, run_inspect
from packager.core.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE
from packager.reporting.inspect import to_json, to_text


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default=Severity.ERROR.value,
    show_default=True,
    help="Exit 1 when a finding reaches this severity.",
)
@click.option(
    "--expect-module",
    "expect_modules",
    multiple=True,
    metavar="NAME",
    help="A module the binary must register (PyInit_NAME). Repeatable.",
)
@click.option(
    "--glibc",
    "glibc",
    default=None,
    metavar="X.Y",
    help="The oldest glibc the files must run on: report symbol versions above it and "
    "libraries outside the manylinux allowlist that do not ship in the file's tree.",
)
@json_option
@jobs_option
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    fail_on: str,
    expect_modules: tuple[str, ...],
    glibc: str | None,
    as_json: bool,
    jobs: int | None,
) -> None:
    """Check binaries for the libpython problems that break them on users' machines.

    \b
    Codes:
      PKG101 static embed that does not export the Python C API
      PKG102 libpython does not resolve       PKG103 another library does not resolve
      PKG104 empty or relative rpath entry    PKG105 absolute rpath outside the tree
      PKG106 extension module links libpython
      PKG107 Mach-O @rpath Python without LC_RPATH
      PKG108 PE python DLL not beside it      PKG109 expected module not registered
      PKG110 onefile executable with a damaged module archive
      PKG111 symbol version above --glibc     PKG112 library outside the allowlist
      PKG113 PT_LOAD segment misaligned (offset and address disagree modulo p_align)

    \b
    Exit codes: 0 nothing reached --fail-on, 1 something did, 2 unreadable input,
    130 interrupted. Never 3: check runs no external tool.

    \b
    Examples:
      packager check target/release/myapp --expect-module myapp_native
      packager check --fail-on warning --json dist/
      packager check --glibc 2.17 dist/myapp
    """
    floor = parse_floor(glibc) if glibc is not None else None
    result = check_result(
        run_inspect(ctx, paths, jobs),
        expect_modules=expect_modules,
        glibc=floor,
        roots=[path for path in paths if os.path.isdir(path)],
    )
    if as_json:
        click.echo(to_json(result))
    else:
        findings = sum(len(report.findings) for report in result.binaries)
        text = to_text(result, findings_only=True)
        if text:
            click.echo(text)
        count = len(result.binaries)
        noun = "binary" if count == 1 else "binaries"
        click.echo(f"{count} {noun} checked, {findings} finding(s)")
    echo_errors(result)
    worst = worst_severity(result)
    if result.errors:
        sys.exit(EXIT_USAGE)
    if worst is not None and worst.rank >= Severity(fail_on).rank:
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)
