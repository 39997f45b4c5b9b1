"""Where packager's own data files live, installed or in a source checkout."""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path


def templates_dir() -> Traversable:
    """The templates root: the installed `packager.templates`, else `<checkout>/templates`."""
    try:
        return importlib.resources.files("packager.templates")
    except ModuleNotFoundError:
        # A source checkout run without `pip install`: templates/ sits beside packager/.
        return Path(__file__).resolve().parents[2] / "templates"
