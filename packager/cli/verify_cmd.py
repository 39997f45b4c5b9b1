"""`packager verify`: run a bundle in a sandbox where no Python is visible."""

from __future__ import annotations

import os
import sys

import click

from packager.cli.main import is_verbose
from packager.cli.options import json_option, progress_printer
from packager.core.errors import UsageError
from packager.core.runner import Echo

HELP = """Run SUBJECT (what `packager bundle` wrote: a folder, archive, .deb, .rpm, installer,
.msi, setup .exe or onefile program) with ARGS in a sandbox.

The sandbox (bubblewrap) sees the system read-only with /usr/lib/python3*,
/usr/bin/python3*, the system libpython, /usr/local, /opt and $HOME hidden; the bundle
is placed under "/tmp/packager verify/" first, so the run also proves it relocates. With
--root or --distro the system is another userland; --sysroot: see its help.

Before it runs, a folder, archive, .deb, .rpm or Windows bundle is checked against the
sbom.cdx.json it carries: each file it lists must be there with its SHA-256, and no ELF
or PE file may be there that it does not list; exit 1 names what differs, and nothing
runs. A bundle without one runs unchecked, with a note.

A Windows bundle (folder or zip) runs under wine instead, through its .cmd launcher,
in a copy of a clean prefix (cached) with no Python installed and no Z: drive. wine 8
lacks bcryptprimitives.dll, which Rust programs import: a stand-in is compiled (with
x86_64-w64-mingw32-gcc) into that prefix, never into the bundle, and a note says so;
PACKAGER_WINE_SYSTEM_DLLS names DLLs of your own instead (separated by ':').
An .msi or NAME-VERSION-setup.exe is installed there silently, its Start-menu
shortcut's target run, and the app removed again: a failed uninstall or anything left
behind fails it.

The program's standard input is /dev/null unless --stdin or --stdin-file gives it
one. A program still running after --timeout seconds is stopped (the whole sandbox)
and fails, its output so far shown. A server passes with --expect-port N once
something listens on port N in the sandbox's own network (it has its own loopback,
which this machine cannot reach, so the check runs in the sandbox), or with
--expect-output REGEX once a line of its output matches; it is then stopped. It fails
if it exits first, or is not ready within --timeout.

With --sign-ca FILE, SUBJECT (a Windows folder, .zip, .msi or setup.exe) is not run:
each .exe, .dll, .pyd and .msi in it must carry an Authenticode signature that
osslsigncode verifies under the CA certificate in FILE (a DLL may keep its own
publisher's if that chains to a root the system trusts, as python3XY.dll keeps the
PSF's); exit 1 names those that do not.

With --gpg-keyring FILE, SUBJECT is not run: its signature is checked instead. SUBJECT
is an output file beside SHA256SUMS and SHA256SUMS.asc, or the folder holding them (every
file listed is checked). SHA256SUMS.asc must be a good signature by the key in FILE (an
exported public key, armoured or binary; your own keyrings play no part) and the file's
SHA-256 must match its line; an .rpm must also pass rpm -K against that key alone. Exit
1 when a signature is missing or bad, or a file does not match.

\b
Exit codes: 0 the program exited 0 (--gui: showed its window; --expect-port,
--expect-output: was ready), 1 it did not (or did not finish within --timeout),
2 usage error, 3 bwrap (--gui: Xvfb, xdotool, xwd, ImageMagick) failed.

\b
Examples:
  packager verify dist/myapp.tar.zst -- --help
  packager verify --json dist/myapp-installer.sh
  packager verify dist/myapp --cwd app
  packager verify --distro bullseye dist/myapp.tar.zst
  packager verify dist/myapp --gui --screenshot shot.png --window-title "My App"
  packager verify --sysroot arm64-root dist/myapp-aarch64.tar.zst
  packager verify dist/adder --stdin $'3\\n4\\n'
  packager verify dist/adder --stdin-file answers.txt
  packager verify dist/myserver --expect-port 8080 --timeout 30
  packager verify dist/myserver --expect-output 'listening on [0-9]+'
  packager verify --gpg-keyring release-key.asc dist/myapp_1.0.0_amd64.deb
  packager verify --sign-ca company-ca.pem dist/myapp-1.0.0-x64.msi
"""


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


def _check_gui_options(
    gui: bool, gui_options: tuple[str | None, str | None], run_options: dict[str, object]
) -> None:
    """Refuse the GUI options (--screenshot, --window-title) without --gui, and the
    options of a run to its end (`run_options`, by name) with it."""
    screenshot, window_title = gui_options
    if not gui:
        given = [
            name
            for name, value in (("--screenshot", screenshot), ("--window-title", window_title))
            if value is not None
        ]
        if given:
            raise UsageError(f"{given[0]} applies to a GUI run: add --gui")
        return
    for name, value in run_options.items():
        if value is not None:
            raise UsageError(f"{name} applies to a run without --gui, which waits for a window")


def _check_signature(
    subject: str,
    keys: tuple[str | None, str | None],
    run_options: dict[str, object],
    echo: Echo | None,
) -> None:
    """--gpg-keyring, --sign-ca: check SUBJECT's signatures instead of running it."""
    from packager.verify.authenticode import check_authenticode
    from packager.verify.signatures import check_signed

    keyring, ca_file = keys
    option = "--gpg-keyring" if keyring is not None else "--sign-ca"
    given = [name for name, value in run_options.items() if value not in (None, False, ())]
    if given:
        raise UsageError(f"{given[0]} applies to a run; {option} checks signatures only")
    if keyring is not None:
        checked = check_signed(subject, keyring, environ=dict(os.environ), echo=echo)
        click.echo(f"{checked.sums}: good signature by {checked.fingerprint}")
        for name in checked.files:
            rpm = " (and rpm -K: signature OK)" if name in checked.rpms else ""
            click.echo(f"  {name}: matches{rpm}")
    if ca_file is not None:
        found = check_authenticode(subject, ca_file, environ=dict(os.environ), echo=echo)
        click.echo(f"{subject}: Authenticode signatures good")
        for verdict in found.files:
            whose = "signed under the CA" if verdict.state == "ours" else "its own publisher's"
            click.echo(f"  {verdict.path}: {whose} ({verdict.signer or 'unknown signer'})")


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


@click.command("verify", help=HELP)
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
    "--stdin",
    "stdin_text",
    default=None,
    metavar="TEXT",
    help="Give the program TEXT, as it is, on its standard input (e.g. --stdin $'3\\n4\\n').  "
    "[default: /dev/null]",
)
@click.option(
    "--stdin-file",
    default=None,
    metavar="PATH",
    help="Give the program the bytes of the file PATH on its standard input.",
)
@click.option(
    "--expect-port",
    type=int,
    default=None,
    metavar="N",
    help="For a server (of a Linux bundle): pass once something listens on TCP port N "
    "inside the sandbox "
    "(within --timeout), then stop the program (SIGTERM, then SIGKILL after 5 s).",
)
@click.option(
    "--expect-output",
    default=None,
    metavar="REGEX",
    help="Pass once a line the program prints (stdout or stderr) matches REGEX (Python's "
    "re.search, within --timeout), then stop the program as --expect-port does.",
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
@click.option(
    "--gpg-keyring",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Instead of running SUBJECT, check that the signed SHA256SUMS beside it (or in "
    "it, a folder) is signed by the public key in FILE and lists it; an .rpm's own "
    "signature too.",
)
@click.option(
    "--sign-ca",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    metavar="FILE",
    help="Instead of running SUBJECT (a Windows folder, .zip, .msi or setup.exe), check "
    "with osslsigncode that each .exe, .dll, .pyd and .msi in it is Authenticode-signed "
    "under the CA certificate in FILE (PEM); a DLL may keep a publisher's signature that "
    "chains to a root the system trusts.",
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
    stdin_text: str | None,
    stdin_file: str | None,
    expect_port: int | None,
    expect_output: str | None,
    sysroot: str | None,
    gpg_keyring: str | None,
    sign_ca: str | None,
    as_json: bool,
) -> None:
    """Run SUBJECT in the sandbox and report how it went (HELP)."""
    from packager.bundle import verify_bundle
    from packager.reporting.bundle import verify_to_json, verify_to_text
    from packager.verify.watch import expectation_of, standard_input

    echo: Echo | None = (lambda line: click.echo(line, err=True)) if is_verbose(ctx) else None
    if gpg_keyring is not None or sign_ca is not None:
        _check_signature(subject, (gpg_keyring, sign_ca), {
            "ARGS": args, "--env": env_pairs, "--cwd": cwd, "--root": root, "--distro": distro,
            "--gui": gui, "--stdin": stdin_text, "--stdin-file": stdin_file, "--json": as_json,
            "--expect-port": expect_port, "--expect-output": expect_output, "--sysroot": sysroot,
        }, echo)  # fmt: skip
        return
    _check_gui_options(gui, (screenshot, window_title), {
        "--stdin": stdin_text, "--stdin-file": stdin_file,
        "--expect-port": expect_port, "--expect-output": expect_output, "--sysroot": sysroot,
    })  # fmt: skip
    expectation = expectation_of(expect_port, expect_output)
    stdin = standard_input(stdin_text, stdin_file)
    system_root = _system_root(root, distro, echo=echo, quiet=as_json)
    if gui:
        _show_gui(subject, args, (screenshot, window_title), env_pairs, timeout, cwd,
                  system_root, echo, as_json=as_json)  # fmt: skip
        return
    result = verify_bundle(
        subject, args, environ=dict(os.environ), extra_env=_parse_env(env_pairs),
        timeout=timeout, echo=echo, cwd=cwd, root=system_root, sysroot=sysroot,
        stdin=stdin, expectation=expectation,
    )  # fmt: skip
    click.echo(verify_to_json(result) if as_json else verify_to_text(result))
    sys.exit(0 if result.ok else 1)
