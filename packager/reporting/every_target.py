"""A run over several targets: each target's bundle report, then the indexes written.

JSON: the artifacts document (schema: packager/schema/artifacts-v1.json), the same that
OUT/artifacts.json holds.
"""

from __future__ import annotations

from packager.bundle.every_target import EveryTargetRun, artifacts_document
from packager.reporting import dumps
from packager.reporting.bundle import to_text as bundle_text


def to_json(result: EveryTargetRun) -> str:
    """The artifacts document of the run."""
    return dumps(artifacts_document(result.out_dir, result.runs, result.failed))


def to_text(result: EveryTargetRun) -> str:
    """Each target's report under its triple, then where the indexes are."""
    lines: list[str] = []
    for entry in result.runs:
        lines += [f"== {entry.target.triple}", bundle_text(entry.run), ""]
    for failure in result.failed:
        lines += [f"== {failure.target.triple}: FAILED", f"error: {failure.error}", ""]
    lines += [f"checksums: {result.sums}", f"artifacts: {result.artifacts}"]
    return "\n".join(lines)
