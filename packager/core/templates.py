"""Read the launcher and installer templates shipped as `packager.templates`."""

from __future__ import annotations

from functools import cache

from packager.core.resources import templates_dir


@cache
def read_template(relative: str) -> str:
    """The text of `templates/<relative>`."""
    node = templates_dir()
    for part in relative.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")
