"""Reports of `packager inspect` and `check`: one document per result, as text or JSON.

Schema: packager/schema/inspect-v1.json.
"""

from __future__ import annotations

from typing import Any

from packager.binary.model import BinaryFormat, BinaryReport, Finding, InspectResult, OnefilePayload
from packager.reporting import SCHEMA_VERSION, dumps


def to_json(result: InspectResult, *, symbols: bool = False) -> str:
    """The JSON text for `result` (schema: packager/schema/inspect-v1.json)."""
    return dumps(to_document(result, symbols=symbols))


def to_document(result: InspectResult, *, symbols: bool = False) -> dict[str, Any]:
    """The JSON document for `result`, as plain data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "binaries": [_binary_to_dict(report, symbols=symbols) for report in result.binaries],
        "errors": [{"path": error.path, "message": error.message} for error in result.errors],
        "skipped": result.skipped,
    }


def _binary_to_dict(report: BinaryReport, *, symbols: bool) -> dict[str, Any]:
    libpython = report.libpython
    table = report.symbols
    python_symbols: dict[str, Any] = {
        "exported": len(table.exported),
        "needed": len(table.needed),
        "local": len(table.local),
        "pyinit": list(table.pyinit),
    }
    if symbols:
        python_symbols["names"] = {
            "exported": list(table.exported),
            "needed": list(table.needed),
            "local": list(table.local),
        }
    return {
        "path": report.path,
        "format": report.format.value,
        "arch": report.arch,
        "kind": report.kind.value,
        "universal": report.universal,
        "slice": report.slice_index,
        "link_mode": report.link_mode.value,
        "python_version": report.python_version,
        "libpython": None
        if libpython is None
        else {
            "name": libpython.name,
            "version": libpython.version,
            "resolved_path": libpython.resolved_path,
            "abi3": libpython.abi3,
        },
        "rpaths": list(report.rpaths),
        "rpath_type": _rpath_type(report),
        "needed": [
            {"name": lib.name, "resolved_path": lib.resolved_path, "system": lib.system}
            for lib in report.needed
        ],
        "python_symbols": python_symbols,
        "glibc_floor": report.glibc_floor,
        "interpreter": report.interpreter,
        "findings": [_finding_to_dict(finding) for finding in report.findings],
        "payload": None if report.payload is None else _payload_to_dict(report.payload),
    }


def _payload_to_dict(payload: OnefilePayload) -> dict[str, Any]:
    return {
        "python_version": payload.python_version,
        "entry": payload.entry,
        "executable_size": payload.executable_size,
        "archive_size": payload.archive_size,
        "extension_modules": payload.extension_modules,
        "search_paths": list(payload.search_paths),
        "problem": payload.problem,
    }


def _finding_to_dict(finding: Finding) -> dict[str, str]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "fix": finding.fix,
    }


def _rpath_type(report: BinaryReport) -> str | None:
    if not report.rpaths:
        return None
    if report.format is BinaryFormat.MACHO:
        return "LC_RPATH"
    return "RUNPATH" if report.runpath else "RPATH"


def to_text(result: InspectResult, *, symbols: bool = False, findings_only: bool = False) -> str:
    """A readable summary per binary; with `findings_only`, just the findings (for check)."""
    blocks = [
        _findings_text(report) if findings_only else _binary_text(report, symbols=symbols)
        for report in result.binaries
    ]
    lines = [block for block in blocks if block]
    if result.skipped:
        lines.append(f"skipped {result.skipped} file(s) that are not binaries")
    return "\n".join(lines)


def _binary_text(report: BinaryReport, *, symbols: bool) -> str:
    title = report.path if report.slice_index is None else f"{report.path} [{report.arch}]"
    table = report.symbols
    rows = [
        ("format", f"{report.format.value} {report.arch} {report.kind.value}"),
        ("link mode", _link_text(report)),
        ("rpaths", _rpaths_text(report)),
        ("needed", _needed_lines(report)),
        (
            "python",
            f"{len(table.exported)} exported, {len(table.needed)} needed, "
            f"{len(table.local)} local (not exported) Py* symbols",
        ),
        ("modules", ", ".join(name.removeprefix("PyInit_") for name in table.pyinit) or "-"),
    ]
    if report.glibc_floor:
        rows.append(("glibc", f">= {report.glibc_floor}"))
    if report.payload is not None:
        rows.append(("onefile", _payload_text(report.payload)))
    if symbols:
        rows.append(("exported", _wrap(table.exported)))
        rows.append(("imports", _wrap(table.needed)))
    out = [title]
    for label, value in rows:
        value_lines = value.split("\n")
        out.append(f"  {label:<10} {value_lines[0]}")
        out.extend(f"  {'':<10} {extra}" for extra in value_lines[1:])
    findings = _findings_text(report)
    out.append(f"  findings   {len(report.findings) or 'none'}")
    if findings:
        out.extend("    " + line for line in findings.split("\n"))
    return "\n".join(out)


def _payload_text(payload: OnefilePayload) -> str:
    if payload.problem is not None:
        return f"DAMAGED: {payload.problem}"
    return (
        f"Python {payload.python_version}, {payload.archive_size / 1e6:.1f} MB module archive, "
        f"{payload.extension_modules} compiled modules carried, entry {payload.entry}"
    )


def _link_text(report: BinaryReport) -> str:
    version = f"Python {report.python_version}" if report.python_version else "Python ?"
    if report.libpython is not None:
        where = report.libpython.resolved_path or "NOT FOUND"
        abi3 = ", stable ABI" if report.libpython.abi3 else ""
        return f"dynamic ({version}{abi3}): {report.libpython.name} -> {where}"
    if report.link_mode.value == "static":
        return f"static ({version} inside the file)"
    return "none (no libpython; Py* resolved at load time, if any)"


def _rpaths_text(report: BinaryReport) -> str:
    if not report.rpaths:
        return "-"
    # Quoted, so that an empty entry (a current-directory search) is visible.
    return f"{_rpath_type(report)} " + ", ".join(repr(entry) for entry in report.rpaths)


def _needed_lines(report: BinaryReport) -> str:
    if not report.needed:
        return "-"
    lines = []
    for lib in report.needed:
        where = "(system)" if lib.system else (lib.resolved_path or "NOT FOUND")
        lines.append(f"{lib.name} -> {where}")
    return "\n".join(lines)


def _findings_text(report: BinaryReport) -> str:
    return "\n".join(
        f"{report.path}: {f.code} {f.severity.value}: {f.message}\n  fix: {f.fix}"
        for f in report.findings
    )


def _wrap(names: tuple[str, ...]) -> str:
    return "\n".join(names) if names else "-"
