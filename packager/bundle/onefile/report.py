"""Render a OnefileResult: text for people, versioned JSON for CI (one document builder)."""

from __future__ import annotations

import json
from typing import Any

from packager.bundle.onefile.builder import OnefileResult
from packager.bundle.onefile.extensions import Placement

SCHEMA_VERSION = 1


def result_document(result: OnefileResult) -> dict[str, Any]:
    """The JSON document for `result`, as plain data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "path": result.path,
        "size": result.size,
        "sha256": result.sha256,
        "program_size": result.executable_size,
        "archive_size": result.archive_size,
        "archive_members": result.archive_members,
        "python_version": result.python_version,
        "interpreter": result.interpreter,
        "source_binary": result.source_binary,
        "search_paths": list(result.search_paths),
        "stripped": result.stripped,
        "trimmed": list(result.trimmed),
        "kept": list(result.kept),
        "extensions": [
            {
                "name": plan.name,
                "placement": plan.placement.value,
                "member": plan.member,
                "reason": plan.reason,
                "system_libraries": list(plan.system_libraries),
            }
            for plan in result.extensions
        ],
        "notes": list(result.notes),
    }


def to_json(result: OnefileResult) -> str:
    """The JSON text for `result`."""
    return json.dumps(result_document(result), indent=2)


def to_text(result: OnefileResult) -> str:
    """A short summary: what was written, what it carries, what it needs on the target."""
    document = result_document(result)
    megabytes = 1e6
    lines = [
        f"wrote {document['path']} ({document['size'] / megabytes:.2f} MB: program "
        f"{document['program_size'] / megabytes:.2f} MB + modules "
        f"{document['archive_size'] / megabytes:.2f} MB in {document['archive_members']} files)",
        f"  python      {document['python_version']} (standard library of "
        f"{document['interpreter']})",
        f"  sha256      {document['sha256']}",
    ]
    counts = {placement: len(result.placed(placement)) for placement in Placement}
    lines.append(
        f"  extensions  {counts[Placement.MEMORY]} loaded from memory, "
        f"{counts[Placement.BUILTIN]} built in, {counts[Placement.IMPOSSIBLE]} left out"
    )
    width = max((len(plan.name) for plan in result.extensions), default=0)
    lines += [
        f"    {plan.name:<{width}}  {plan.reason}"
        for plan in result.extensions
        if plan.placement is not Placement.BUILTIN
        and (plan.system_libraries or plan.placement is Placement.IMPOSSIBLE)
    ]
    lines += [f"  note: {note}" for note in document["notes"]]
    return "\n".join(lines)
