"""The Python a crate carries in its Rust code, and what that Python imports.

An embedding program holds Python in its binary, not in files a bundle could read:
string literals handed to `py.run`, `py.eval` or `PyModule::from_code` (plain, raw or
`c"..."`), files pulled in with `include_str!("script.py")`, and modules imported from
Rust with `py.import("name")` or `PyModule::import(py, "name")`. The crate's sources
(src/**/*.rs) are tokenized, never compiled or run; each literal that mentions `import`
is read as Python (its escapes undone), and each included file as a script.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from packager.crate.rust_source import Token, TokenKind, tokenize
from packager.python.source_imports import imported_modules

# A source or included file larger than this is not a program's script: not read.
MAX_FILE_BYTES = 4 * 1024 * 1024
_IMPORT_CALLS = frozenset({"import", "import_bound", "import_module"})
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_ESCAPE = re.compile(r"\\(?:\n[ \t\r]*|x[0-9A-Fa-f]{2}|u\{[0-9A-Fa-f]{1,6}\}|.)", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True)
class CodeImport:
    """A module the crate's Python imports, and the file it was found in."""

    module: str  # dotted, as imported
    where: str  # relative to the crate: src/main.rs, or the included script


def crate_python_imports(crate_dir: str) -> tuple[CodeImport, ...]:
    """Every module the Python in `crate_dir`'s Rust sources imports, in source order."""
    found: dict[str, CodeImport] = {}
    for path in _rust_files(os.path.join(crate_dir, "src")):
        source = _read_text(path)
        if source is None or ("import" not in source and "include_str" not in source):
            continue
        for module, where in _file_imports(path, source, crate_dir):
            found.setdefault(module, CodeImport(module, where))
    return tuple(found.values())


def _rust_files(src: str) -> Iterator[str]:
    for directory, subdirs, files in os.walk(src):
        subdirs.sort()
        for name in sorted(files):
            if name.endswith(".rs"):
                yield os.path.join(directory, name)


def _read_text(path: str) -> str | None:
    """The text of a regular file of sensible size; None for anything else."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > MAX_FILE_BYTES:
            return None
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _file_imports(path: str, source: str, crate_dir: str) -> Iterator[tuple[str, str]]:
    """(module, the file it was found in, relative to the crate) for one Rust source file:
    the file itself, or a script it includes."""
    where = os.path.relpath(path, crate_dir)
    tokens = tokenize(source)
    for index, token in enumerate(tokens):
        if token.kind is not TokenKind.STRING:
            continue
        included = _included_path(tokens, index)
        if included is not None:
            script = os.path.normpath(os.path.join(os.path.dirname(path), included))
            text = _read_text(script)
            for module in imported_modules(text or ""):
                yield module, os.path.relpath(script, crate_dir)
        elif _imported_from_rust(tokens, index):
            yield token.text, where
        elif "import" in token.text:
            yield from ((module, where) for module in imported_modules(unescape(token.text)))


def _included_path(tokens: list[Token], index: int) -> str | None:
    """The path of `include_str!("path")` when the string at `index` is its argument."""
    if index < 3:
        return None
    name, bang, paren = tokens[index - 3 : index]
    if (name.text, bang.text, paren.text) == ("include_str", "!", "("):
        return tokens[index].text
    return None


def _imported_from_rust(tokens: list[Token], index: int) -> bool:
    """Whether the string at `index` names a module in `x.import("name")` or
    `PyModule::import(py, "name")` (and their `_bound` forms)."""
    if not _MODULE_NAME.fullmatch(tokens[index].text):
        return False
    before = [token.text for token in tokens[max(0, index - 4) : index]]
    return (len(before) >= 2 and before[-1] == "(" and before[-2] in _IMPORT_CALLS) or (
        len(before) == 4 and before[1:] == ["(", "py", ","] and before[0] in _IMPORT_CALLS
    )


def unescape(literal: str) -> str:
    """A Rust string literal's content with its escapes undone (a line-continuation
    backslash drops the newline and the next line's indentation)."""

    def replace(match: re.Match[str]) -> str:
        escape = match.group()[1:]
        if escape.startswith("\n"):
            return ""
        if escape.startswith("x"):
            return chr(int(escape[1:], 16))
        if escape.startswith("u{"):
            code = int(escape[2:-1], 16)
            return chr(code) if code <= 0x10FFFF else ""
        return _SIMPLE.get(escape, match.group())

    return _ESCAPE.sub(replace, literal)
