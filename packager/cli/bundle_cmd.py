"""`packager bundle`: lay out a relocatable bundle, archives and installers."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import click

from packager.cli.main import is_verbose
from packager.cli.options import json_option, mode_option


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
@mode_option("How to link a CRATE that is built first (ignored for a BINARY).")
@click.option(
    "--requirements",
    type=click.Path(exists=True, dir_okay=False),
    help="pip requirements file.",
)
@click.option("--keep", multiple=True, help="Put back a trimmed stdlib module (repeatable).")
@click.option(
    "--app-dir",
    type=click.Path(exists=True, file_okay=False),
    help="Files to ship in NAME/app.",
)
@click.option(
    "--stdlib-sources",
    is_flag=True,
    help="Ship the stdlib as .py sources with __pycache__ instead of a .pyc zip "
    "(tracebacks then show stdlib source lines).",
)
@click.option("--no-strip", is_flag=True, help="Keep symbols and debug info in ELF files.")
@click.option("--export-env", is_flag=True, help="Let child processes inherit the launcher env.")
@click.option("--version", "app_version", default="0.0.0", show_default=True, help=".deb version.")
@click.option("--force", is_flag=True, help="Replace outputs that already exist.")
@click.option("--verify", "run_verify", is_flag=True, help="Run the result in a sandbox.")
@click.option(
    "--python-home",
    type=click.Path(file_okay=False),
    help="For a Windows BINARY: the Windows CPython (e.g. the embeddable package, unpacked) "
    "to take python3XY.dll and the stdlib from.",
)
@click.option(
    "--onefile",
    is_flag=True,
    help="Write one static executable carrying the stdlib and the app's packages, "
    "imported from inside the file (nothing is extracted at run time).",
)
@click.option(
    "--only-needed",
    is_flag=True,
    help="--onefile: keep only the modules the app's scripts import (see --script/--include).",
)
@click.option("--script", "scripts", multiple=True, help="--only-needed: a script to follow.")
@click.option("--include", multiple=True, help="--only-needed: a module to keep as well.")
@click.option(
    "--site", "site_dirs", multiple=True, help="--onefile: a pip --target directory to carry."
)
@click.option("--no-compress", is_flag=True, help="--onefile: store modules uncompressed.")
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
    stdlib_sources: bool,
    no_strip: bool,
    export_env: bool,
    app_version: str,
    force: bool,
    run_verify: bool,
    python_home: str | None,
    onefile: bool,
    only_needed: bool,
    scripts: tuple[str, ...],
    include: tuple[str, ...],
    site_dirs: tuple[str, ...],
    no_compress: bool,
    as_json: bool,
) -> None:
    """Bundle a binary with its libpython, a trimmed stdlib and launchers.

    A CRATE (a directory with Cargo.toml) is first built in release mode, as
    `packager build --release` does; a BINARY is bundled as it is.

    Writes NAME/ (bin/NAME with RUNPATH $ORIGIN/../lib, lib/libpython, the stdlib as
    lib/python3X.zip plus lib/python3.X/lib-dynload, and the launcher NAME) and each
    requested archive or installer, plus SHA256SUMS. ELF files are stripped (--no-strip
    keeps symbols). Outputs appear whole or not at all; existing ones are replaced only
    with --force. The prepared stdlib is cached in $XDG_CACHE_HOME/packager.

    \b
    Exit codes: 0 done (and verified), 1 --verify ran and the bundle failed,
    2 usage error or unreadable input, 3 an external tool failed.

    With --onefile, writes OUT/NAME: one static executable that carries the stdlib
    and packages in a module archive inside the file and loads compiled modules from
    memory, so nothing is written to disk when it starts.

    \b
    Examples:
      packager bundle samples/hello --format dir,tar.zst --out dist --verify
      packager bundle samples/hello --onefile --python /usr/bin/python3.11 --out dist
      packager bundle target/release/myapp --format dir,tar.zst --out dist
      packager bundle myapp --requirements requirements.txt --format installer,deb --verify
    """
    from packager.build import build_crate
    from packager.bundle import bundle_binary, parse_formats, verify_bundle
    from packager.bundle.report import to_json, to_text

    verbose = is_verbose(ctx)
    environ = dict(os.environ)

    def progress(message: str) -> None:
        if not as_json:
            click.echo(f"packager: {message}", err=True)

    def echo(line: str) -> None:
        click.echo(line, err=True)

    _interrupt_on_sigterm()
    if onefile:
        _onefile(
            target,
            environ=environ,
            out_dir=out_dir,
            name=name,
            python=python,
            requirements=requirements,
            site_dirs=site_dirs,
            app_dir=app_dir,
            keep=keep,
            only_needed=only_needed,
            scripts=scripts,
            include=include,
            compress=not no_compress,
            strip=not no_strip,
            force=force,
            run_verify=run_verify,
            as_json=as_json,
            progress=progress,
            echo=echo if verbose else None,
        )
        return
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
        stdlib_sources=stdlib_sources,
        strip=not no_strip,
        force=force,
        version=app_version,
        python_home=python_home,
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


def _onefile(
    target: str,
    *,
    environ: dict[str, str],
    out_dir: str,
    name: str | None,
    run_verify: bool,
    as_json: bool,
    progress: Callable[[str], None],
    **options: Any,
) -> None:
    from packager.bundle import verify_bundle
    from packager.bundle.atomic import OutputDirError, check_targets
    from packager.bundle.bundler import check_bundle_name
    from packager.bundle.onefile.builder import build_onefile
    from packager.bundle.onefile.report import result_document, to_text
    from packager.bundle.report import to_text as verify_text
    from packager.bundle.report import verify_to_dict

    stem = os.path.basename(os.path.abspath(target).removesuffix("/Cargo.toml"))
    check_bundle_name(name or stem, target)
    # Checked before the build: an unusable --out should not cost a release build.
    if not os.path.isdir(out_dir):
        raise OutputDirError(
            "the output directory does not exist",
            path=out_dir,
            fix=f"create it first (mkdir -p {out_dir}) or choose another --out",
        )
    check_targets(out_dir, [name or stem], force=bool(options.get("force")))
    out = os.path.join(out_dir, name or stem)
    result = build_onefile(
        target, environ=environ, out=out, release=True, progress=progress, **options
    )
    verified = None
    if run_verify:
        progress(f"verifying {result.path} in a sandbox")
        verified = verify_bundle(result.path, environ=environ)
    if as_json:
        document = result_document(result)
        document["verify"] = None if verified is None else verify_to_dict(verified)
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(to_text(result))
        if verified is not None:
            click.echo(verify_text(None, verified))
    sys.exit(1 if verified is not None and not verified.ok else 0)
