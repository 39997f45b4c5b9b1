"""Reports of `packager config`: the PyO3 configuration, and the list of interpreters found.

Schema: packager/schema/config-v1.json (both documents); with --target,
packager/schema/config-target-v1.json.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from packager.crate.cross_build import TargetPython
from packager.crate.pyo3_config import Mode, PyO3Config, render
from packager.python.discovery import Discovery
from packager.python.interpreters import Interpreter
from packager.reporting import SCHEMA_VERSION, dumps
from packager.targets import Target


def to_document(interpreter: Interpreter, mode: Mode, config: PyO3Config) -> dict[str, Any]:
    """The JSON document of the configuration a build would use."""
    return {
        "schema_version": SCHEMA_VERSION,
        "interpreter": _interpreter_summary(interpreter),
        "requested_mode": mode.value,
        "mode": config.mode.value,
        "config": {**asdict(config), "text": render(config)},
    }


def to_json(interpreter: Interpreter, mode: Mode, config: PyO3Config) -> str:
    """The JSON text of the configuration."""
    return dumps(to_document(interpreter, mode, config))


def target_to_document(target: Target, python: TargetPython, mode: Mode) -> dict[str, Any]:
    """The JSON document of the configuration `build --target` would use."""
    config = python.config
    return {
        "schema_version": SCHEMA_VERSION,
        "target": {
            "triple": target.triple,
            "system": target.system.value,
            "arch": target.arch,
            "linker": target.linker,
            "linker_package": target.linker_package,
            "multiarch": target.multiarch,
        },
        "python_home": python.source,
        "requested_mode": mode.value,
        "mode": config.mode.value,
        "config": {**asdict(config), "text": render(config)},
        "rustflags": list(python.rustflags),
    }


def target_to_json(target: Target, python: TargetPython, mode: Mode) -> str:
    """The JSON text of a target's configuration."""
    return dumps(target_to_document(target, python, mode))


def to_text(config: PyO3Config) -> str:
    """The configuration as PYO3_PRINT_CONFIG prints it: a valid PYO3_CONFIG_FILE."""
    return render(config)


def list_to_document(found: Discovery) -> dict[str, Any]:
    """The JSON document of the interpreters found."""
    return {
        "schema_version": SCHEMA_VERSION,
        "interpreters": _list_entries(found),
        "notes": list(found.notes),
    }


def list_to_json(found: Discovery) -> str:
    """The JSON text of the interpreters found."""
    return dumps(list_to_document(found))


def list_to_text(found: Discovery) -> str:
    """The interpreters found, for people."""
    notes = [f"note: {note}" for note in found.notes]
    if not found.found:
        return "\n".join(
            ["no Python interpreters found (give one with --python or PYO3_PYTHON)", *notes]
        )
    blocks = []
    for entry in _list_entries(found):
        head = f"{entry['path']}  [{entry['source']}]"
        if "version" not in entry:
            blocks.append(f"{head}\n  unusable: {entry['problem']}")
            continue
        archives = entry["static_archives"]
        static = ", ".join(map(str, archives)) if isinstance(archives, list) else ""
        lines = [
            f"{head}\n  {entry['implementation']} {entry['version']}",
            f"  shared: {entry['shared_library'] or 'none'}",
            f"  static: {static or 'none'}",
        ]
        if entry["problem"]:
            lines.append(f"  unusable: {entry['problem']}")
        blocks.append("\n".join(lines))
    return "\n".join([*blocks, *notes])


def _interpreter_summary(interpreter: Interpreter) -> dict[str, object]:
    return {
        "path": interpreter.path,
        "executable": interpreter.executable,
        "version": interpreter.version,
        "implementation": interpreter.implementation,
        "enable_shared": interpreter.enable_shared,
        "shared_library": interpreter.shared_library,
        "static_archives": list(interpreter.static_archives),
        "link_libraries": list(interpreter.link_libraries),
        "free_threaded": interpreter.free_threaded,
        "embedding_problem": interpreter.embedding_problem,
    }


def _list_entries(found: Discovery) -> list[dict[str, object]]:
    """One record per candidate: the single source of both the text and the JSON listing."""
    entries: list[dict[str, object]] = []
    for item in found.found:
        entry: dict[str, object] = {"path": item.candidate.path, "source": item.candidate.source}
        if item.interpreter is None:
            entry.update(usable=False, problem=item.error)
        else:
            problem = item.interpreter.embedding_problem
            entry.update(_interpreter_summary(item.interpreter))
            entry.update(usable=problem is None, problem=problem)
        entries.append(entry)
    return entries
