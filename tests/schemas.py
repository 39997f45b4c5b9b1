"""Validate a command's JSON document against the schema files packager ships."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource


def _registry() -> Registry:
    """Every schema under packager/schema, by its $id, so one may refer to another."""
    folder = resources.files("packager").joinpath("schema")
    schemas = [
        json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas
    )


def validate(document: Any, name: str) -> None:
    """Raise jsonschema.ValidationError unless `document` follows `packager/schema/NAME`."""
    registry = _registry()
    schema = registry.contents(f"packager/{name}")
    jsonschema.Draft202012Validator(schema, registry=registry).validate(document)
