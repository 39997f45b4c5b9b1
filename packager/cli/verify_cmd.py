"""`packager verify`: run a bundle in a sandbox where no Python is visible."""

from __future__ import annotations

import os
import sys

import click

from packager.cli.main import is_verbose
from packager.cli.options import json_option, progress_printer
from packager.core.errors import UsageError
from packager.core.runner import Echo


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
    from packager.core.context import Context, silent
    from packager.verify.roots import debian_root, parse_distros

    if root is not None and distro is not None:
        raise UsageError("--root and --distro both name the system to run on: give one")
    if distro is None:
        return root or "/"

    progress = silent if quiet else progress_printer()
    context = Context(environ=dict(os.environ), progress=progress, echo=echo)
    return debian_root(parse_distros(distro)[0], context)


def _check_gui_options(gui: bool, screenshot: str | None, window_title: str | None) -> None:
    """Refuse the GUI options without --gui."""
    if not gui:
        given = [
            name
            for name, value in (("--screenshot", screenshot), ("--window-title", window_title))
            if value is not None
        ]
        if given:
            raise UsageError(f"{given[0]} applies to a GUI run: add --gui")


def _show_gui(
    subject: str,
    args: tuple[str, ...],
    gui_options: tuple[str | None, str | None],
    env_pairs: tuple[str, ...],
    timeout: float,
    cwd: str | None,
    root: str,
    echo: Echo | None,
    *,
    as_json: bool,
) -> None:
    """Run SUBJECT on a virtual screen until its window shows (--gui) and report it;
    `gui_options` are --screenshot and --window-title."""
    from packager.reporting.bundle import gui_to_json, gui_to_text
    from packager.verify.gui import verify_gui

    screenshot, window_title = gui_options
    shown = verify_gui(
        subject,
        args,
        screenshot=screenshot,
        environ=dict(os.environ),
        extra_env=_parse_env(env_pairs),
        window_title=window_title,
        wait=timeout,
        cwd=cwd,
        root=root,
        echo=echo,
    )
    click.echo(gui_to_json(shown) if as_json else gui_to_text(shown))


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
    "--gui",
    is_flag=True,
    help="Run the program on a virtual screen (Xvfb) and wait, at most --timeout seconds, "
    "for its window instead of its exit; then end it.",
)
@click.option(
    "--screenshot",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --gui: write a PNG of the screen once the window is shown.",
)
@click.option(
    "--window-title",
    default=None,
    metavar="TEXT",
    help="With --gui: the window to wait for, by a part of its title.  [default: any]",
)
@click.option(
    "--sysroot",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="For a bundle built for another architecture (aarch64): the target's root it was "
    "built against (--python-home); its C library runs the program under qemu-user. "
    "Default: Debian's C library for that architecture, of the release the sandbox's "
    "userland is (--distro; bookworm over this host), fetched once.",
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
    gui: bool,
    screenshot: str | None,
    window_title: str | None,
    sysroot: str | None,
    as_json: bool,
) -> None:
    """Run SUBJECT (a bundle folder, archive, .deb, .rpm or installer) with ARGS in a sandbox.

    The sandbox (bubblewrap) sees the system read-only with /usr/lib/python3*,
    /usr/bin/python3*, the system libpython, /usr/local, /opt and $HOME hidden; the bundle
    is placed under "/tmp/packager verify/" first, so the run also proves it relocates. With
    --root or --distro the system is another userland; --sysroot: see its help.

    A Windows bundle (folder or zip) runs under wine instead, through its .cmd launcher,
    in a copy of a clean prefix (cached) with no Python installed and no Z: drive. wine 8
    lacks bcryptprimitives.dll, which Rust programs import: a stand-in is compiled (with
    x86_64-w64-mingw32-gcc) into that prefix, never into the bundle, and a note says so;
    PACKAGER_WINE_SYSTEM_DLLS names DLLs of your own instead (separated by ':').
    An .msi or NAME-VERSION-setup.exe is installed there silently, its Start-menu
    shortcut's target run, and the app removed again: a failed uninstall or anything left
    behind fails it.

    \b
    Exit codes: 0 the program exited 0 (--gui: showed its window), 1 it did not, 2 usage
    error, 3 bwrap (--gui: Xvfb, xdotool, xwd, ImageMagick) failed.

    \b
    Examples:
      packager verify dist/myapp.tar.zst -- --help
      packager verify --json dist/myapp-installer.sh
      packager verify dist/myapp --cwd app
      packager verify --distro bullseye dist/myapp.tar.zst
      packager verify dist/myapp --gui --screenshot shot.png --window-title "My App"
      packager verify --sysroot arm64-root dist/myapp-aarch64.tar.zst
    """
    from packager.bundle import verify_bundle
    from packager.reporting.bundle import verify_to_json, verify_to_text

    echo: Echo | None = (lambda line: click.echo(line, err=True)) if is_verbose(ctx) else None
    _check_gui_options(gui, screenshot, window_title)
    system_root = _system_root(root, distro, echo=echo, quiet=as_json)
    if gui:
        _show_gui(subject, args, (screenshot, window_title), env_pairs, timeout, cwd,
                  system_root, echo, as_json=as_json)  # fmt: skip
        return
    result = verify_bundle(
        subject, args, environ=dict(os.environ), extra_env=_parse_env(env_pairs),
        timeout=timeout, echo=echo, cwd=cwd, root=system_root, sysroot=sysroot,
    )  # fmt: skip
    click.echo(verify_to_json(result) if as_json else verify_to_text(result))
    sys.exit(0 if result.ok else 1)
