"""Reports of `packager build`: the outcome as text or JSON.

Schema: packager/schema/build-v1.json (its `check` member follows inspect-v1.json).
"""

from __future__ import annotations

from typing import Any

from packager.crate.build import BuildOutcome
from packager.reporting import SCHEMA_VERSION, dumps
from packager.reporting import inspect as inspect_report


def to_document(outcome: BuildOutcome) -> dict[str, Any]:
    """The JSON document for a build."""
    return {
        "schema_version": SCHEMA_VERSION,
        "crate": outcome.crate_dir,
        "mode": outcome.mode.value,
        "python_version": outcome.python_version,
        "interpreter": outcome.interpreter,
        "config_file": outcome.config_file,
        "modules": list(outcome.modules),
        "dependency_modules": list(outcome.dependency_modules),
        "inittab_generated": outcome.inittab_generated,
        "binaries": [{"path": path, "size": size} for path, size in outcome.sizes.items()],
        "notes": list(outcome.notes),
        "check": inspect_report.to_document(outcome.check),
    }


def to_json(outcome: BuildOutcome) -> str:
    """The JSON text for a build."""
    return dumps(to_document(outcome))


def to_text(outcome: BuildOutcome) -> str:
    """The one summary a build prints."""
    lines = []
    for path, size in outcome.sizes.items():
        lines.append(f"built {path}")
        lines.append(f"  link mode  {outcome.mode.value} (Python {outcome.python_version})")
        lines.append(f"  size       {size / 1e6:.1f} MB")
    lines.append(f"  modules    {', '.join(outcome.modules) or '-'}")
    if outcome.dependency_modules:
        lines.append(f"  from deps  {', '.join(outcome.dependency_modules)}")
    lines.append(f"  config     {outcome.config_file}")
    findings = inspect_report.to_text(outcome.check, findings_only=True)
    lines.append("  findings   " + ("none" if not findings else ""))
    if findings:
        lines.extend("    " + line for line in findings.splitlines())
    return "\n".join(lines)
