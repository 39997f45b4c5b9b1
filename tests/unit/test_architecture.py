"""The package's shape: imports go down the layers, never up, and never in a circle.

Imports are read from the source (function-level imports included), so a lazy import
that would close a cycle or reach upward fails here as well.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.helpers import REPO

PACKAGE = REPO / "packager"

# Lowest first. A module may import from its own layer's other parts and from lower
# layers; a part is a top-level module or sub-package (packager.bundle, packager.binary.inspect).
LAYERS: list[set[str]] = [
    {"packager", "core"},
    {"targets"},
    {"binary"},
    {"python"},
    {"crate"},
    {"outputs"},
    {"verify"},
    {"bundle"},
    {"reporting"},
    {"cli", "__main__"},
]


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The packager modules `module` imports, resolved to modules that exist."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("packager") and name != module:
                yield name


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {module: set(_imports(module, path, known)) for module, path in known.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _layer(module: str) -> int:
    part = _part(module)
    for index, layer in enumerate(LAYERS):
        if part in layer:
            return index
    raise AssertionError(f"{module}: its part '{part}' is in no layer of this test")


def test_every_module_sits_in_a_layer_and_imports_only_downward() -> None:
    upward = [
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_parts() -> None:
    parts: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        parts.setdefault(_part(module), set()).update(
            _part(target) for target in targets if _part(target) != _part(module)
        )
    assert _cycles(parts) == []


def test_no_import_cycles_between_modules() -> None:
    """Within a part too, except a package's __init__ re-exporting its own modules."""
    known = _modules()
    graph = {
        module: {
            target
            for target in targets
            if not (known[target].name == "__init__.py" and module.startswith(target + "."))
            and not (known[module].name == "__init__.py" and target.startswith(module + "."))
        }
        for module, targets in _graph().items()
    }
    assert _cycles(graph) == []


def test_the_checker_sees_a_cycle_and_an_upward_import() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _layer("packager.cli.bundle_cmd") > _layer("packager.bundle.pipeline")
    assert _layer("packager.binary.onefile_payload") < _layer("packager.python.discovery")


MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 450


def _in_every_file(check: Callable[[Path, str], list[str]]) -> list[str]:
    """What `check` finds in each Python file of packager/ and tests/."""
    paths = sorted([*PACKAGE.rglob("*.py"), *(REPO / "tests").rglob("*.py")])
    return [
        finding
        for path in paths
        for finding in check(path.relative_to(REPO), path.read_text(encoding="utf-8"))
    ]


def _long_functions(path: Path, source: str) -> list[str]:
    """Each function of `source` longer than MAX_FUNCTION_LINES, with its length."""
    return [
        f"{path}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def _long_module(path: Path, source: str) -> list[str]:
    lines = len(source.splitlines())
    return [f"{path} ({lines} lines)"] if lines > MAX_MODULE_LINES else []


def test_no_function_is_longer_than_a_screen() -> None:
    """In packager/ and tests/, every function fits in MAX_FUNCTION_LINES lines."""
    assert _in_every_file(_long_functions) == []


def test_no_module_is_longer_than_its_limit() -> None:
    """In packager/ and tests/, every module stays within MAX_MODULE_LINES lines."""
    assert _in_every_file(_long_module) == []


def test_the_size_checks_see_a_long_function_and_a_long_module() -> None:
    body = "\n".join(f"    x{n} = {n}" for n in range(MAX_FUNCTION_LINES))
    long_function = f"def grown() -> None:\n{body}\n"
    assert _long_functions(Path("m.py"), long_function) == [
        f"m.py:grown ({MAX_FUNCTION_LINES + 1} lines)"
    ]
    assert _long_functions(Path("m.py"), "def short() -> None:\n    pass\n") == []
    assert _long_module(Path("m.py"), "x = 1\n" * (MAX_MODULE_LINES + 1)) == [
        f"m.py ({MAX_MODULE_LINES + 1} lines)"
    ]
    assert _long_module(Path("m.py"), "x = 1\n" * MAX_MODULE_LINES) == []


def test_target_names_live_in_the_target_table() -> None:
    """Outside packager/targets/ a triple or machine of a target is never spelled out:
    code asks the table (the CLI's help text may name them as examples)."""
    spelled = re.compile(r"windows-gnu|aarch64")
    found = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.parent.name not in ("targets", "cli")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if spelled.search(line)
    ]
    assert found == []
