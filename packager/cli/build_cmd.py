"""`packager build`: cargo build with the right interpreter, PyO3 config and linker flags."""

from __future__ import annotations

import json
import os
import sys

import click

from packager.build import BuildFailed, BuildOutcome, build_crate
from packager.checks import worst_severity
from packager.cli.main import is_verbose
from packager.cli.options import json_option, mode_option
from packager.errors import EXIT_CLEAN, EXIT_FINDINGS
from packager.model import Severity
from packager.render import SCHEMA_VERSION, result_document, result_to_text


@click.command("build")
@click.argument("crate", default=".", type=click.Path(file_okay=True, dir_okay=True))
@mode_option(
    "dynamic links libpython3.X.so; static links libpython3.X.a into the binary; "
    "auto follows the interpreter (dynamic when it has a shared libpython)."
)
@click.option("--python", "python", metavar="PATH", help="The interpreter to embed.")
@click.option(
    "--static-library",
    metavar="ARCHIVE",
    help="A libpython3.X.a to link instead of the interpreter's own (--mode static).",
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
    release: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Build CRATE (default: the current directory) so that it embeds Python.

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
    """

    def to_stderr(line: str) -> None:
        click.echo(line, err=True)

    try:
        outcome = build_crate(
            crate,
            environ=os.environ,
            mode=mode,
            python=python,
            static_library=static_library,
            release=release,
            echo=to_stderr if is_verbose(ctx) else None,
            on_line=None if quiet else to_stderr,
            note=lambda text: click.echo(f"packager: note: {text}", err=True),
        )
    except BuildFailed as exc:
        if quiet and exc.shown_lines:
            click.echo("\n".join(exc.shown_lines), err=True)
        for diagnosis in exc.diagnoses:
            click.echo(
                f"packager: cause: {diagnosis.cause}\n  seen: {diagnosis.evidence}", err=True
            )
        raise
    if as_json:
        click.echo(json.dumps(outcome_document(outcome), indent=2))
    else:
        click.echo(outcome_text(outcome))
    worst = worst_severity(outcome.check)
    failed = worst is not None and worst.rank >= Severity.ERROR.rank
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


def outcome_document(outcome: BuildOutcome) -> dict[str, object]:
    """The JSON document for a build (the `check` part follows inspect-v1)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "crate": outcome.crate_dir,
        "mode": outcome.mode.value,
        "python_version": outcome.python_version,
        "interpreter": outcome.interpreter,
        "config_file": outcome.config_file,
        "modules": list(outcome.modules),
        "inittab_generated": outcome.inittab_generated,
        "binaries": [{"path": path, "size": size} for path, size in outcome.sizes.items()],
        "notes": list(outcome.notes),
        "check": result_document(outcome.check),
    }


def outcome_text(outcome: BuildOutcome) -> str:
    """The one summary a build prints."""
    lines = []
    for path, size in outcome.sizes.items():
        lines.append(f"built {path}")
        lines.append(f"  link mode  {outcome.mode.value} (Python {outcome.python_version})")
        lines.append(f"  size       {size / 1e6:.1f} MB")
    lines.append(f"  modules    {', '.join(outcome.modules) or '-'}")
    lines.append(f"  config     {outcome.config_file}")
    findings = result_to_text(outcome.check, findings_only=True)
    lines.append("  findings   " + ("none" if not findings else ""))
    if findings:
        lines.extend("    " + line for line in findings.splitlines())
    return "\n".join(lines)
