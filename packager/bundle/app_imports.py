"""Trimming that never changes what the app does without saying so.

Before the stdlib is trimmed, the app's own Python is read: the scripts of `--app-dir`
and the Python compiled into the crate (packager.crate.python_code). Every trimmed part
one of them imports is kept, with a note naming the file. After the tree is laid out,
the third-party packages shipped in site-packages are read too: a module that imports
a part still trimmed is reported, per package and part, with the `--keep` that ships it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from packager.bundle.stdlib import TrimRule, rule_for
from packager.crate.python_code import MAX_FILE_BYTES, crate_python_imports
from packager.python.source_imports import imported_modules

# Folders of a package's own tests: not what the app runs.
_TEST_DIRS = frozenset({"test", "tests", "testing", "__pycache__"})


@dataclass(frozen=True)
class AppImport:
    """A module the app's Python imports, and where that Python is."""

    module: str
    where: str  # app/NAME.py, or a file of the crate (src/main.rs, src/draw.py)


def app_imports(app_dir: str | None, package_dir: str | None) -> tuple[AppImport, ...]:
    """What the --app-dir scripts and the crate's Python import."""
    found = [AppImport(module, f"app/{where}") for module, where in _script_imports(app_dir)]
    if package_dir is not None:
        found += [AppImport(i.module, i.where) for i in crate_python_imports(package_dir)]
    return tuple(found)


def keep_for_app(
    keep: tuple[str, ...], imports: Iterable[AppImport]
) -> tuple[tuple[str, ...], list[str]]:
    """`keep` plus each trimmed part the app imports; notes saying which file imports it."""
    kept, notes = list(keep), []
    named = {rule.name for name in keep if (rule := rule_for(name)) is not None}
    for found in imports:
        rule = rule_for(found.module)
        if rule is not None and rule.name not in named:
            named.add(rule.name)
            kept.append(rule.name)
            notes.append(f"{rule.name} kept: {found.where} imports {found.module}")
    return tuple(kept), notes


def _script_imports(app_dir: str | None) -> Iterator[tuple[str, str]]:
    """(module, script relative to `app_dir`) for the .py files under it."""
    for path in _python_files(app_dir):
        for module in _file_imports(path):
            yield module, os.path.relpath(path, app_dir)


def _python_files(top: str | None, skip: frozenset[str] = frozenset()) -> Iterator[str]:
    if top is None or not os.path.isdir(top):
        return
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = sorted(name for name in subdirs if name not in skip)
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(directory, name)


def _file_imports(path: str) -> tuple[str, ...]:
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return ()
        with open(path, encoding="utf-8", errors="replace") as handle:
            return imported_modules(handle.read())
    except OSError:
        return ()


def trimmed_imports_warnings(site_packages: str, rules: Iterable[TrimRule]) -> list[str]:
    """One warning per shipped package and trimmed part it imports, naming both."""
    applied = {rule.name: rule for rule in rules}
    if not applied:
        return []
    # Read only files that mention a trimmed name after import/from: parsing every
    # module of a large package (numpy has hundreds) would cost seconds.
    mention = _mention_pattern(applied.values())
    users: dict[tuple[str, str], list[str]] = {}
    for path in _python_files(site_packages, _TEST_DIRS):
        if not _mentions(path, mention):
            continue
        for module in _file_imports(path):
            rule = rule_for(module)
            if rule is not None and rule.name in applied:
                relative = os.path.relpath(path, site_packages)
                users.setdefault((relative.split(os.sep)[0], rule.name), []).append(relative)
    return [
        f"trimmed but imported: {package} imports {part} ({len(files)} module"
        f"{'s' if len(files) != 1 else ''}, e.g. {files[0]}); --keep {part} ships it"
        for (package, part), files in sorted(users.items())
    ]


def _mention_pattern(rules: Iterable[TrimRule]) -> re.Pattern[str]:
    names = {rule.name for rule in rules}
    for rule in rules:
        names.update(p.removesuffix(".py") for p in rule.top_level if "*" not in p)
        names.update(p for p in rule.extensions if "*" not in p)
    words = "|".join(sorted(re.escape(name) for name in names))
    return re.compile(rf"\b(?:import|from)\s+(?:{words})\b|import_module\(")


def _mentions(path: str, pattern: re.Pattern[str]) -> bool:
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return False
        with open(path, encoding="utf-8", errors="replace") as handle:
            return pattern.search(handle.read()) is not None
    except OSError:
        return False
