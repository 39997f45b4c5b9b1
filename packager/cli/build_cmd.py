"""`packager build`: cargo build with the right interpreter, PyO3 config and linker flags."""

from __future__ import annotations

import os
import sys

import click

from packager.binary.checks import worst_severity
from packager.binary.model import Severity
from packager.cli.main import is_verbose
from packager.cli.options import (
    bin_option,
    json_option,
    mode_option,
    package_option,
    progress_context,
    target_option,
)
from packager.core.errors import EXIT_CLEAN, EXIT_FINDINGS, UsageError
from packager.core.runner import Echo
from packager.crate.build import BuildFailed, BuildOutcome, build_crate
from packager.reporting.build import to_json, to_text
from packager.targets import is_native

HELP = """Build CRATE (default: the current directory) so that it embeds Python.

Works on crates made by `packager new` and on any crate that embeds Python with
PyO3: the linker flags go through CARGO_ENCODED_RUSTFLAGS after your own RUSTFLAGS.
A crate with src/packager_inittab.rs gets it regenerated from its #[pymodule]s.
The result is checked (`packager check`) with those modules expected.

\b
Exit codes: 0 built and clean, 1 built with error findings, 2 usage error,
3 cargo or the linker failed (the cause and a fix are shown when known).

\b
Examples:
  packager build myapp
  packager build myapp --mode static --release
  packager build --python /usr/bin/python3.11 --mode static samples/extmods
  packager build --target x86_64-pc-windows-gnu --python 3.11
  packager build --target x86_64-pc-windows-gnu --python-home python-3.11-embed-amd64
  packager build my-workspace -p app --bin app --release
"""


@click.command("build", help=HELP)
@click.argument("crate", default=".", type=click.Path(file_okay=True, dir_okay=True))
@mode_option(
    "dynamic links libpython3.X.so; static links libpython3.X.a into the binary; "
    "auto follows the interpreter (dynamic when it has a shared libpython)."
)
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="The interpreter to embed; with a Windows --target, the CPython release to fetch "
    "(3.X: the official embeddable package, SHA-256 checked and cached).",
)
@click.option(
    "--static-library",
    metavar="ARCHIVE",
    help="A libpython3.X.a to link instead of the interpreter's own (--mode static).",
)
@package_option
@bin_option
@target_option
@click.option(
    "--python-home",
    metavar="DIR",
    help="With --target: the target's CPython: for Windows the embeddable package "
    "unpacked, for aarch64 a root holding Debian's arm64 libpython3.X-dev (default: the "
    "aarch64 portable runtime, built into the cache on first use).",
)
@click.option("--release", is_flag=True, help="Build with the release profile.")
@click.option("--quiet", "-q", is_flag=True, help="Do not stream cargo's output.")
@json_option
@click.pass_context
def command(
    ctx: click.Context,
    crate: str,
    mode: str,
    python: str | None,
    static_library: str | None,
    package: str | None,
    binary: str | None,
    target: str | None,
    python_home: str | None,
    release: bool,
    quiet: bool,
    as_json: bool,
) -> None:

    def to_stderr(line: str) -> None:
        click.echo(line, err=True)

    streams: dict[str, Echo | None] = {
        "echo": to_stderr if is_verbose(ctx) else None,
        "on_line": None if quiet else to_stderr,
    }
    try:
        outcome = _build(
            crate,
            mode,
            python,
            static_library,
            (package, binary),
            target,
            python_home,
            release,
            streams,
        )
    except BuildFailed as exc:
        if quiet and exc.shown_lines:
            click.echo("\n".join(exc.shown_lines), err=True)
        for diagnosis in exc.diagnoses:
            click.echo(
                f"packager: cause: {diagnosis.cause}\n  seen: {diagnosis.evidence}", err=True
            )
        raise
    click.echo(to_json(outcome) if as_json else to_text(outcome))
    worst = worst_severity(outcome.check)
    failed = worst is not None and worst.rank >= Severity.ERROR.rank
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


def _build(
    crate: str,
    mode: str,
    python: str | None,
    static_library: str | None,
    selection: tuple[str | None, str | None],
    target: str | None,
    python_home: str | None,
    release: bool,
    streams: dict[str, Echo | None],
) -> BuildOutcome:
    """Build for this host, or for --target; `selection` is (--package, --bin)."""
    package, binary = selection
    if target is not None and is_native(target):
        target = None  # this machine's own target: a native build
    if target is None:
        return build_crate(
            crate,
            environ=os.environ,
            mode=mode,
            python=python,
            static_library=static_library,
            release=release,
            package=package,
            binary=binary,
            note=lambda text: click.echo(f"packager: note: {text}", err=True),
            **streams,
        )
    return _build_for_target(
        crate, target, python_home, mode, python, static_library, release, selection, streams
    )


def _build_for_target(
    crate: str,
    target: str,
    python_home: str | None,
    mode: str,
    python: str | None,
    static_library: str | None,
    release: bool,
    selection: tuple[str | None, str | None],
    streams: dict[str, Echo | None],
) -> BuildOutcome:
    """A cross build: the target's Python comes from --python-home, or for Windows from
    the embeddable CPython --python 3.X names (fetched)."""
    from packager.crate.cross_build import build_for_target
    from packager.python.target_python import target_python_home
    from packager.targets import cross_target

    if static_library is not None:
        raise UsageError(
            "--static-library chooses a libpython of this host",
            fix="drop it: with --target, the target's Python comes from --python-home",
        )
    home = target_python_home(cross_target(target), python, python_home, progress_context())
    return build_for_target(
        crate,
        target=target,
        environ=os.environ,
        python_home=home,
        mode=mode,
        release=release,
        package=selection[0],
        binary=selection[1],
        **streams,
    )
