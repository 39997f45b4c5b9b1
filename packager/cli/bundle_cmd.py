"""`packager bundle`: lay out a relocatable bundle, archives and installers."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import click

from packager.cli.options import json_option


def _interrupt_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the staging directory is cleaned up."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@click.command("bundle")
@click.argument("target", metavar="CRATE|BINARY", type=click.Path())
@click.option(
    "--format",
    "formats",
    default="dir",
    show_default=True,
    help="Comma-separated: dir, tar.gz, tar.zst, zip, installer, deb.",
)
@click.option("--out", "out_dir", default=".", show_default=True, help="Existing output dir.")
@click.option("--name", default=None, help="Bundle name (default: the binary's file name).")
@click.option("--python", default=None, help="Interpreter to take libpython and stdlib from.")
@click.option(
    "--mode",
    type=click.Choice(["auto", "dynamic", "static"]),
    default="auto",
    show_default=True,
    help="How to link a CRATE that is built first (ignored for a BINARY).",
)
@click.option("--requirements", type=click.Path(dir_okay=False), help="pip requirements file.")
@click.option("--keep", multiple=True, help="Put back a trimmed stdlib module (repeatable).")
@click.option("--app-dir", type=click.Path(file_okay=False), help="Files to ship in NAME/app.")
@click.option("--zip-stdlib", is_flag=True, help="Ship the pure-Python stdlib as a .pyc zip.")
@click.option("--export-env", is_flag=True, help="Let child processes inherit the launcher env.")
@click.option("--version", "app_version", default="0.0.0", show_default=True, help=".deb version.")
@click.option("--force", is_flag=True, help="Replace outputs that already exist.")
@click.option("--verify", "run_verify", is_flag=True, help="Run the result in a sandbox.")
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    target: str,
    formats: str,
    out_dir: str,
    name: str | None,
    python: str | None,
    mode: str,
    requirements: str | None,
    keep: tuple[str, ...],
    app_dir: str | None,
    zip_stdlib: bool,
    export_env: bool,
    app_version: str,
    force: bool,
    run_verify: bool,
    as_json: bool,
) -> None:
    """Bundle a binary with its libpython, a trimmed stdlib and launchers.

    A CRATE (a directory with Cargo.toml) is first built in release mode, as
    `packager build --release` does; a BINARY is bundled as it is.

    Writes NAME/ (bin/NAME with RUNPATH $ORIGIN/../lib, lib/libpython, lib/python3.X,
    and the launcher NAME) and each requested archive or installer, plus SHA256SUMS.
    Outputs appear whole or not at all; existing ones are replaced only with --force.

    \b
    Exit codes: 0 done (and verified), 1 --verify ran and the bundle failed,
    2 usage error or unreadable input, 3 an external tool failed.

    \b
    Examples:
      packager bundle samples/hello --format dir,tar.zst --out dist --verify
      packager bundle target/release/myapp --format dir,tar.zst --out dist
      packager bundle myapp --requirements requirements.txt --format installer,deb --verify
    """
    from packager.build import build_crate
    from packager.bundle import bundle_binary, parse_formats, verify_bundle
    from packager.bundle.report import to_json, to_text

    verbose = bool(ctx.find_root().obj and ctx.find_root().obj.get("verbose"))
    environ = dict(os.environ)

    def progress(message: str) -> None:
        if not as_json:
            click.echo(f"packager: {message}", err=True)

    def echo(line: str) -> None:
        click.echo(line, err=True)

    _interrupt_on_sigterm()
    binary = target
    if _is_crate(target):
        outcome = build_crate(
            target,
            environ=environ,
            mode=mode,
            python=python,
            release=True,
            echo=echo if verbose else None,
            on_line=None if as_json else echo,
            note=lambda text: click.echo(f"packager: note: {text}", err=True),
        )
        binary, python = outcome.binaries[0], outcome.interpreter
        progress(f"built {binary} ({outcome.mode.value}, Python {outcome.python_version})")
    manifest = bundle_binary(
        binary,
        out_dir=out_dir,
        environ=environ,
        formats=parse_formats(formats),
        name=name,
        python=python,
        keep=keep,
        app_dir=app_dir,
        requirements=requirements,
        export_env=export_env,
        zip_stdlib=zip_stdlib,
        force=force,
        version=app_version,
        progress=progress,
        echo=echo if verbose else None,
    )
    verified = None
    if run_verify:
        subject = manifest.outputs[-1].path
        if manifest.outputs[-1].format is None:  # SHA256SUMS: verify the last real output
            subject = manifest.outputs[-2].path
        progress(f"verifying {subject} in a sandbox")
        verified = verify_bundle(subject, environ=environ, echo=echo if verbose else None)
    click.echo(to_json(manifest, verified) if as_json else to_text(manifest, verified))
    sys.exit(1 if verified is not None and not verified.ok else 0)


def _is_crate(target: str) -> bool:
    return os.path.isdir(target) or os.path.basename(target) == "Cargo.toml"
