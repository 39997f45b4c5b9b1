"""The glibc floor of a staged bundle: measured from every ELF file it ships, and enforced.

Without `--glibc` the floor is the honest one, the highest of the files shipped. With it,
every ELF file must run on that glibc with nothing but the manylinux allowlist taken
from the system; otherwise the bundle fails before any output is committed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from packager.binary.floor import floor_findings, highest, version_key
from packager.binary.model import BinaryFormat, BinaryReport, Finding
from packager.core.context import Context
from packager.core.errors import FloorError

_SHOWN = 5  # findings named in the error; the rest are counted


@dataclass(frozen=True)
class TreeFloor:
    """The floor of everything a bundle ships, and the file that sets it."""

    glibc: str | None  # None: no file needs a versioned glibc symbol
    file: str | None  # relative to the tree's root


def enforce_floor(
    paths: Sequence[str], root: str, required: str | None, ctx: Context, *, sysroot: str = "/"
) -> TreeFloor:
    """The floor of the ELF files under `paths` (all inside `root`); with `required`,
    raise FloorError naming each file that needs more than that glibc or than the allowlist.
    `sysroot` is the system their libraries resolve in (a foreign target's root)."""
    from packager.binary.inspect import inspect_paths

    reports = [
        report
        for report in inspect_paths(list(paths), environ=ctx.environ, root=sysroot).binaries
        if report.format is BinaryFormat.ELF
    ]
    if required is not None:
        ctx.progress(f"checking every ELF file against glibc {required}")
        findings = [
            finding for report in reports for finding in floor_findings(report, required, root)
        ]
        if findings:
            raise _floor_error(findings, root, required)
    return tree_floor(reports, root)


def tree_floor(reports: Sequence[BinaryReport], root: str) -> TreeFloor:
    """The highest floor among `reports`, and the first file (by path) that needs it."""
    floor = highest(report.glibc_floor for report in reports)
    if floor is None:
        return TreeFloor(None, None)
    setter = min(
        report.path
        for report in reports
        if report.glibc_floor and version_key(report.glibc_floor) == version_key(floor)
    )
    return TreeFloor(floor, os.path.relpath(setter, root))


def _floor_error(findings: Sequence[Finding], root: str, required: str) -> FloorError:
    findings = sorted(findings, key=lambda finding: (finding.code, finding.path))
    lines = [
        f"  {os.path.relpath(finding.path, root)}: {finding.code} {finding.message}"
        for finding in findings[:_SHOWN]
    ]
    if len(findings) > _SHOWN:
        lines.append(f"  ... and {len(findings) - _SHOWN} more")
    files = len({finding.path for finding in findings})
    return FloorError(
        f"{files} file(s) would not run on every system with glibc >= {required}; "
        "nothing was written:\n" + "\n".join(lines),
        fix=findings[0].fix,
    )
