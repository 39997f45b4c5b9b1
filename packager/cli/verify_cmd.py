"""`packager verify`: run a bundle in a sandbox where no Python is visible."""

from __future__ import annotations

import os
import sys

import click

from packager.cli.main import is_verbose
from packager.cli.options import json_option
from packager.errors import UsageError
from packager.runner import Echo


def _parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise UsageError(f"--env {pair!r} is not KEY=VALUE", fix="e.g. --env LANG=C.UTF-8")
        parsed[key] = value
    return parsed


def _system_root(root: str | None, distro: str | None, *, echo: Echo | None, quiet: bool) -> str:
    """The root directory the sandbox shows: --root, the cached --distro root, or "/"."""
    from packager.bundle.roots import debian_root, parse_distros
    from packager.context import Context, silent

    if root is not None and distro is not None:
        raise UsageError("--root and --distro both name the system to run on: give one")
    if distro is None:
        return root or "/"

    def progress(line: str) -> None:
        click.echo(f"packager: {line}", err=True)

    context = Context(environ=dict(os.environ), progress=silent if quiet else progress, echo=echo)
    return debian_root(parse_distros(distro)[0], context)


@click.command("verify")
@click.argument("subject", type=click.Path(exists=True))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--env", "env_pairs", multiple=True, help="KEY=VALUE to set inside the sandbox.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds before giving up.")
@click.option(
    "--cwd",
    default=None,
    help="Run the program in this folder: a relative path is a folder of the bundle (e.g. "
    "app; beside a onefile program), an absolute one a directory of this machine, made "
    "visible in the sandbox.  [default: an empty HOME]",
)
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Run over this system root (e.g. made by debootstrap) instead of this host's.",
)
@click.option(
    "--distro",
    default=None,
    metavar="NAME",
    help="Run over a minimal Debian root (bullseye, bookworm, trixie), made once with "
    "debootstrap --variant=minbase and kept in the cache.",
)
@click.option(
    "--sysroot",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="For a bundle built for another architecture (aarch64): the target's root it was "
    "built against (--python-home); its C library runs the program under qemu-user.",
)
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    subject: str,
    args: tuple[str, ...],
    env_pairs: tuple[str, ...],
    timeout: float,
    cwd: str | None,
    root: str | None,
    distro: str | None,
    sysroot: str | None,
    as_json: bool,
) -> None:
    """Run SUBJECT (a bundle folder, archive, .deb or installer) with ARGS in a sandbox.

    The sandbox (bubblewrap) sees the system read-only with /usr/lib/python3*,
    /usr/bin/python3*, the system libpython, /usr/local, /opt and $HOME hidden; the bundle
    is placed under "/tmp/packager verify/" first, so the run also proves it relocates.
    With --root or --distro the system is another userland, with nothing added to it.
    A bundle for another architecture runs under qemu-user with the --sysroot C library.

    A Windows bundle (folder or zip) runs under wine instead, through its .cmd launcher,
    in a copy of a clean prefix (cached) with no Python installed and no Z: drive. wine 8
    lacks bcryptprimitives.dll, which Rust programs import: PACKAGER_WINE_SYSTEM_DLLS
    names stand-in DLLs (separated by ':') to put into the prefix, never into the bundle.

    \b
    Exit codes: 0 the program exited 0, 1 it did not, 2 usage error, 3 bwrap failed.

    \b
    Examples:
      packager verify dist/myapp.tar.zst -- --help
      packager verify --json dist/myapp-installer.sh
      packager verify dist/myapp --cwd app
      packager verify --distro bullseye dist/myapp.tar.zst
      packager verify --sysroot arm64-root dist/myapp-aarch64.tar.zst
    """
    from packager.bundle import verify_bundle
    from packager.reporting.bundle import verify_to_json, verify_to_text

    verbose = is_verbose(ctx)
    echo: Echo | None = (lambda line: click.echo(line, err=True)) if verbose else None
    system_root = _system_root(root, distro, echo=echo, quiet=as_json)
    result = verify_bundle(
        subject,
        args,
        environ=dict(os.environ),
        extra_env=_parse_env(env_pairs),
        timeout=timeout,
        echo=echo,
        cwd=cwd,
        root=system_root,
        sysroot=sysroot,
    )
    click.echo(verify_to_json(result) if as_json else verify_to_text(result))
    sys.exit(0 if result.ok else 1)
