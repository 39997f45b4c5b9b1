"""`packager runtime`: build portable CPython runtimes for an old glibc, and list them."""

from __future__ import annotations

import json
import os

import click

from packager.cli.main import is_verbose
from packager.cli.options import interrupt_on_sigterm, json_option, progress_printer
from packager.core.context import Context

SCHEMA_VERSION = 1


@click.group("runtime")
def command() -> None:
    """Build CPython for an old glibc floor with its libraries inside, and list builds.

    \b
    Examples:
      packager runtime build --python 3.11 --glibc 2.17
      packager runtime build --python 3.11.2 --source Python-3.11.2.tgz --deps-source deps/
      packager runtime list
      packager config --python runtime:3.11
    """


@command.command("build")
@click.option("--python", "python", required=True, metavar="3.X[.Y]", help="CPython version.")
@click.option("--glibc", default="2.17", show_default=True, help="The oldest glibc to run on.")
@click.option("--arch", default=None, help="Target architecture (default: this machine's).")
@click.option(
    "--source",
    type=click.Path(exists=True),
    default=None,
    help="CPython release tarball or unpacked tree (default: Debian's source package).",
)
@click.option(
    "--deps-source",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Directory of the libraries' tarballs (default: Debian's source packages).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Compile steps run at once (make -j).",
)
@json_option
@click.pass_context
def build(
    ctx: click.Context,
    python: str,
    glibc: str,
    arch: str | None,
    source: str | None,
    deps_source: str | None,
    jobs: int,
    as_json: bool,
) -> None:
    """Build a runtime into the cache (or find the one built before) and print its prefix."""
    from packager.python.portable import BuildOptions, build_runtime, parse_spec

    options = BuildOptions(parse_spec(python, glibc, arch), source, deps_source, jobs)
    run = Context(
        environ=os.environ,
        progress=progress_printer(),
        echo=(lambda line: click.echo(line, err=True)) if is_verbose(ctx) else None,
    )
    interrupt_on_sigterm()
    result = build_runtime(options, run)
    runtime = result.runtime
    if as_json:
        document = {
            "schema_version": SCHEMA_VERSION,
            "prefix": runtime.prefix,
            "executable": runtime.executable,
            "selector": runtime.selector,
            "cached": result.cached,
            "seconds": round(result.seconds, 3),
            "manifest": runtime.manifest,
        }
        click.echo(json.dumps(document, indent=2))
        return
    how = "found in the cache" if result.cached else f"built in {result.seconds:.0f} s"
    click.echo(f"CPython {runtime.version} for glibc >= {runtime.glibc_text} ({how})")
    click.echo(f"  prefix:     {runtime.prefix}")
    click.echo(f"  use it:     --python {runtime.selector}")


@command.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """List the runtimes built so far, newest first."""
    from packager.core.context import cache_root
    from packager.python.portable import list_runtimes

    runtimes = list_runtimes(cache_root(os.environ))
    if as_json:
        entries = [
            {"selector": r.selector, "prefix": r.prefix, "executable": r.executable}
            for r in runtimes
        ]
        click.echo(json.dumps({"schema_version": SCHEMA_VERSION, "runtimes": entries}))
        return
    if not runtimes:
        click.echo("no runtimes built (packager runtime build --python 3.11 --glibc 2.17)")
    for runtime in runtimes:
        click.echo(f"{runtime.selector}  {runtime.prefix}")
