"""Read the launcher and installer templates shipped as `packager.templates`."""

from __future__ import annotations

from functools import cache
from importlib.resources.abc import Traversable

from packager.core.resources import templates_dir


def template_file(relative: str) -> Traversable:
    """`templates/<relative>` (a path with '/' separators)."""
    node = templates_dir()
    for part in relative.split("/"):
        node = node / part
    return node


@cache
def read_template(relative: str) -> str:
    """The text of `templates/<relative>`."""
    return template_file(relative).read_text(encoding="utf-8")
