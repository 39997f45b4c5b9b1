"""Create a new cargo crate that embeds Python, from the `crate` template."""

from __future__ import annotations

import keyword
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path

from packager.core.errors import OutputExistsError, UsageError
from packager.core.resources import templates_dir
from packager.crate.inittab import check_names, find_modules, reserved_names, write_inittab

CRATE_TEMPLATE = "crate"

# One template file is rendered once per module, named after it.
_MODULE_TEMPLATE = "__module__.rs"
# Stored without the dot so that packaging globs, which skip dotfiles, still carry it.
_RENAMED = {"gitignore": ".gitignore"}

_CRATE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# Strict and reserved keywords: not usable as a crate's or a module's name.
_RUST_KEYWORDS = frozenset(
    # One string keeps the list readable; ruff would have it as a 50-line list literal.
    "as async await break const continue crate dyn else enum extern false fn for if impl in "  # noqa: SIM905
    "let loop match mod move mut pub ref return self Self static struct super trait true type "
    "unsafe use where while abstract become box do final macro override priv try typeof "
    "unsized virtual yield gen".split()
)


def default_module_name(crate_name: str) -> str:
    """The module a new crate gets when none is named: `my-app` -> `my_app_native`."""
    return crate_name.replace("-", "_") + "_native"


def new_crate(
    dest: Path,
    name: str,
    modules: Sequence[str] = (),
    *,
    reserved: Mapping[str, str] | None = None,
) -> Path:
    """Create the crate `name` at `dest` with one `#[pymodule]` per entry of `modules`.

    `reserved` maps module names the target interpreter already has (built-in and
    standard-library) to what they are; by default the running interpreter's.
    Nothing is left behind if any step fails. Returns `dest`.
    """
    module_names = tuple(modules) or (default_module_name(name),)
    if reserved is None:
        reserved = reserved_names(sys.builtin_module_names, sorted(sys.stdlib_module_names))
    _check_crate_name(name)
    for module in module_names:
        _check_module_name(module, reserved)
    duplicates = sorted({module for module in module_names if module_names.count(module) > 1})
    if duplicates:
        raise UsageError(f"module '{duplicates[0]}' is given more than once")
    if dest.exists() or dest.is_symlink():
        raise OutputExistsError(
            "already exists", path=str(dest), fix="choose another name or --path, or remove it"
        )
    if not dest.parent.is_dir():
        raise UsageError(
            "the directory to create the crate in does not exist",
            path=str(dest.parent),
            fix="create it first, or choose another --path",
        )
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    except OSError as exc:
        raise UsageError(
            f"cannot create the crate here: {exc.strerror or exc}",
            path=str(dest.parent),
            fix="choose a writable --path",
        ) from exc
    try:
        # mkdtemp makes the directory private (0700); a crate is an ordinary directory.
        staging.chmod(0o755)
        _render_tree(templates_dir() / CRATE_TEMPLATE, staging, name, module_names)
        found = find_modules(staging)
        check_names(found, reserved)
        write_inittab(staging, found)
        # rename() onto a missing path is atomic; if `dest` appeared meanwhile it fails.
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _check_crate_name(name: str) -> None:
    if not _CRATE_NAME.fullmatch(name) or name.replace("-", "_") in _RUST_KEYWORDS:
        raise UsageError(
            f"'{name}' is not a valid crate name",
            fix="use letters, digits, '_' and '-', starting with a letter (e.g. my-app)",
        )


# Files the template writes into src/ (and `packager build` refreshes) and crates main.rs
# names: a module of the same name would overwrite or shadow them.
_TAKEN_BY_THE_CRATE = frozenset(
    {"main", "packager_inittab", "packager_runtime", "pyo3", "std", "core", "alloc"}
)


def _check_module_name(module: str, reserved: Mapping[str, str]) -> None:
    if not module.isidentifier() or not module.isascii() or keyword.iskeyword(module):
        raise UsageError(
            f"'{module}' is not a valid Python module name",
            fix="use letters, digits and '_', not starting with a digit (e.g. my_native)",
        )
    if module in _RUST_KEYWORDS or module.startswith("__"):
        raise UsageError(f"'{module}' cannot name a Rust module", fix="choose another module name")
    if module in _TAKEN_BY_THE_CRATE:
        raise UsageError(
            f"'{module}' is taken by the generated crate (a file or crate it uses)",
            fix=f"choose another module name, e.g. {module}_native",
        )
    if module in reserved:
        raise UsageError(
            f"module '{module}' would shadow {reserved[module]}",
            fix=f"choose another name, e.g. {module}_native",
        )


def _render_tree(source: Traversable, target: Path, name: str, modules: Sequence[str]) -> None:
    """Copy the template tree `source` into `target`, filling in the placeholders."""
    values = {
        "name": name,
        "module_declarations": "\n".join(f"mod {module};" for module in modules),
        "module_imports": "\n".join(f"import {module}" for module in modules),
        "module_calls": "\n".join(f'print({module}.greet("{name}"))' for module in modules),
    }
    for entry in sorted(source.iterdir(), key=lambda item: item.name):
        if entry.name == "__pycache__":
            continue  # an install byte-compiles the template's .py files; not template content
        if entry.is_dir():
            (target / entry.name).mkdir()
            _render_tree(entry, target / entry.name, name, modules)
        elif entry.name == _MODULE_TEMPLATE:
            for module in modules:
                text = render(entry.read_text(encoding="utf-8"), {**values, "module": module})
                _write(target / f"{module}.rs", text)
        else:
            text = render(entry.read_text(encoding="utf-8"), values)
            _write(target / _RENAMED.get(entry.name, entry.name), text)


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace each `{{key}}` in `template`; an unknown placeholder is an error."""
    rendered = template
    for key, value in values.items():
        rendered = rendered.replace("{{" + key + "}}", value)
    leftover = _unfilled(rendered, values.keys())
    if leftover:
        raise UsageError(f"template placeholder {{{{{leftover[0]}}}}} has no value")
    return rendered


def _unfilled(text: str, known: Iterable[str]) -> list[str]:
    known_keys = set(known)
    return [key for key in re.findall(r"\{\{([a-z_]+)\}\}", text) if key not in known_keys]


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
