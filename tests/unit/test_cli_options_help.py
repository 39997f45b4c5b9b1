"""Every option of every command says what it does in --help."""

from __future__ import annotations

import click

from packager.cli.main import cli


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in _commands(command, ctx)]
        else:
            found.append((name, command))
    return found


def test_every_option_of_every_command_has_help() -> None:
    ctx = click.Context(cli)
    silent = [
        f"{name} {'/'.join(param.opts)}"
        for name, command in _commands(cli, ctx)
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert silent == []
