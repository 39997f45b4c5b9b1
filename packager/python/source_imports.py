"""The modules a piece of Python source imports, read without running it.

Absolute `import` and `from ... import` statements anywhere in the code (inside
functions and `try` blocks too), and `__import__("name")` / `importlib.import_module(
"name")` with a literal name. Source that does not parse as a whole (a fragment, or code
in a Rust string whose escapes were read loosely) is read line by line for import
statements instead, so nothing it plainly imports is missed.
"""

from __future__ import annotations

import ast
import re
import textwrap

_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:import[ \t]+(?P<names>[\w.]+(?:[ \t]*,[ \t]*[\w.]+)*)"
    r"|from[ \t]+(?P<module>[A-Za-z_][\w.]*)[ \t]+import\b)",
    re.MULTILINE,
)
_DYNAMIC = ("__import__", "import_module")


def imported_modules(source: str) -> tuple[str, ...]:
    """The dotted names `source` imports, in first-seen order."""
    if "import" not in source:
        return ()
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError):
        return _imports_by_line(source)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Call) and (name := _dynamic_name(node)) is not None:
            found.append(name)
    return tuple(dict.fromkeys(found))


def _dynamic_name(call: ast.Call) -> str | None:
    """The literal module name of `__import__("x")` or `importlib.import_module("x")`."""
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else None
    name = function.id if isinstance(function, ast.Name) else name
    if name not in _DYNAMIC or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
        return first.value
    return None


def _imports_by_line(source: str) -> tuple[str, ...]:
    found: list[str] = []
    for match in _IMPORT_LINE.finditer(source):
        if match["module"]:
            found.append(match["module"])
        else:
            found.extend(name.strip() for name in match["names"].split(","))
    return tuple(dict.fromkeys(found))
