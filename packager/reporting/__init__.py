"""Reports: one module per command family turns its result values into text or JSON.

Each module offers `to_document(result)` (plain data, the JSON document), `to_json` and
`to_text`; text is rendered from the same document, so the two never disagree. Every
document carries `schema_version`, and `packager/schema/<name>-v<N>.json` describes it.
May import every stage; only `cli` imports it.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

SCHEMA_VERSION = 1

_LITERALS = {None: "null", True: "true", False: "false"}


class _NotPlain(Exception):
    """A value other than plain str, int, bool, None, finite float, list, tuple or dict
    with str keys: json's own rules (subclasses, NaN, other keys) decide its text."""


def dumps(document: dict[str, Any]) -> str:
    """A JSON document as the CLI prints it: `json.dumps(document, indent=2)`, text for
    text. json indents in pure Python, a generator per level; this writes the same text
    in about half the time (inspect over wine's DLLs prints nearly a megabyte)."""
    chunks: list[str] = []
    try:
        _write(document, "\n", chunks)
    except _NotPlain:
        return json.dumps(document, indent=2)
    return "".join(chunks)


def _write(value: Any, newline: str, chunks: list[str]) -> None:
    """Append the text of `value`, whose lines start with `newline`, to `chunks`."""
    kind = type(value)
    if kind is dict:
        _write_dict(value, newline, chunks)
    elif kind is list or kind is tuple:
        _write_list(value, newline, chunks)
    else:
        chunks.append(_scalar(value))


def _write_dict(value: dict[Any, Any], newline: str, chunks: list[str]) -> None:
    if not value:
        chunks.append("{}")
        return
    inner = newline + "  "
    separator = "{" + inner
    for key, item in value.items():
        if type(key) is not str:
            raise _NotPlain
        item_kind = type(item)
        if item_kind is str:
            chunks.append(separator + _quote(key) + ": " + _quote(item))
        elif item_kind is dict or item_kind is list or item_kind is tuple:
            chunks.append(separator + _quote(key) + ": ")
            _write(item, inner, chunks)
        else:
            chunks.append(separator + _quote(key) + ": " + _scalar(item))
        separator = "," + inner
    chunks.append(newline + "}")


def _write_list(value: list[Any] | tuple[Any, ...], newline: str, chunks: list[str]) -> None:
    if not value:
        chunks.append("[]")
        return
    inner = newline + "  "
    if all(type(item) is str for item in value):  # names: one join
        chunks.append("[" + inner + ("," + inner).join(map(_quote, value)) + newline + "]")
        return
    separator = "[" + inner
    for item in value:
        item_kind = type(item)
        if item_kind is dict or item_kind is list or item_kind is tuple:
            chunks.append(separator)
            _write(item, inner, chunks)
        else:
            chunks.append(separator + _scalar(item))
        separator = "," + inner
    chunks.append(newline + "]")


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool or value is None:
        return _LITERALS[value]
    if kind is float and value - value == 0:  # finite: inf - inf and NaN - NaN are NaN
        return float.__repr__(value)
    raise _NotPlain
