"""`packager new`: create a cargo crate that embeds Python with PyO3."""

from __future__ import annotations

import os
from pathlib import Path

import click

from packager.crate.scaffold import new_crate


@click.command("new")
@click.argument("name")
@click.option(
    "--module",
    "-m",
    "modules",
    multiple=True,
    metavar="NAME",
    help="A #[pymodule] to create (repeatable; default: NAME_native).",
)
@click.option(
    "--path",
    "path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to create (default: ./NAME). It must not exist.",
)
def command(name: str, modules: tuple[str, ...], path: Path | None) -> None:
    """Create the crate NAME: a Rust binary that embeds CPython and runs app/main.py.

    The crate has one Rust file per Python module under src/, registered in the
    interpreter by the generated src/packager_inittab.rs, and builds with plain
    `cargo build` against a shared libpython as well as with `packager build`.

    \b
    Examples:
      packager new myapp
      packager new myapp --module fastmath --module textutil
      packager new myapp --path ~/src/myapp
    """
    dest = path if path is not None else Path(name)
    created = new_crate(dest, name, modules)
    shown = os.path.relpath(created) if not created.is_absolute() else str(created)
    click.echo(f"Created crate '{name}' in {shown}")
    for relative in sorted(_files(created)):
        click.echo(f"  {relative}")
    click.echo("\nNext:")
    click.echo(f"  packager build {shown}")
    click.echo(f"  cd {shown} && cargo run")


def _files(root: Path) -> list[str]:
    return [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()]
