"""`packager` entry point: a click group whose subcommands are imported on first use.

Subcommands live one per module (`packager/cli/<name>_cmd.py`, each exposing `command`)
and are imported only when run or listed, so `packager --help` stays near bare start-up.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from packager import __version__
from packager.core.errors import EXIT_USAGE, PackagerError

# name -> (module, one-line help shown by `packager --help` without importing the module)
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("packager.cli.inspect_cmd", "Report how binaries link libpython."),
    "check": ("packager.cli.check_cmd", "Inspect binaries and report problems as findings."),
    "config": ("packager.cli.config_cmd", "Show the PyO3 configuration a build would use."),
    "new": ("packager.cli.new_cmd", "Create a cargo crate that embeds Python with PyO3."),
    "build": ("packager.cli.build_cmd", "Build a crate that embeds Python, dynamic or static."),
    "bundle": ("packager.cli.bundle_cmd", "Lay out a relocatable bundle, archives and installers."),
    "runtime": ("packager.cli.runtime_cmd", "Build CPython for an old glibc, with its libraries."),
    "verify": ("packager.cli.verify_cmd", "Run a bundle in a sandbox where no Python is visible."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="packager")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.option("--verbose", "-v", is_flag=True, help="Show the external commands being run.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Build, inspect and ship Rust programs that embed CPython through PyO3.

    \b
    Examples:
      packager inspect /usr/bin/python3.11
      packager check --fail-on warning target/release/myapp
      packager new myapp && packager build myapp --mode static
    """
    ctx.obj = {"debug": debug, "verbose": verbose}


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning packager errors into a message and a stable exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="packager", standalone_mode=False)
    except PackagerError as exc:
        if debug:
            raise
        click.echo(f"packager: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if debug:
            raise
        click.echo(
            f"packager: internal error: {type(exc).__name__}: {exc}\n"
            "  run again with --debug for the traceback, and report it",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    sys.exit(0)


def is_debug(ctx: click.Context) -> bool:
    """Whether --debug was given on the group."""
    obj: Any = ctx.find_root().obj
    return bool(obj and obj.get("debug"))


def is_verbose(ctx: click.Context) -> bool:
    """Whether --verbose was given on the group."""
    obj: Any = ctx.find_root().obj
    return bool(obj and obj.get("verbose"))
