"""The CLI's JSON text: `reporting.dumps` writes what `json.dumps(indent=2)` writes, for
every document, its own fast path or json's fallback (subclasses, NaN, non-string keys)."""

from __future__ import annotations

import enum
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from packager.reporting import dumps

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_KEYS = st.text() | st.integers() | st.none() | st.booleans() | st.floats(allow_nan=False)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(_KEYS, inner),
    max_leaves=40,
)


class _Kind(enum.StrEnum):
    ELF = "elf"


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_KEYS, _DOCUMENTS))
def test_any_document_gives_json_dumps_text(document: dict[Any, Any]) -> None:
    assert dumps(document) == json.dumps(document, indent=2)


def test_a_str_subclass_value_gives_json_dumps_text() -> None:
    document = {"format": _Kind.ELF, "names": ["a", _Kind.ELF], "size": 2**70}
    assert dumps(document) == json.dumps(document, indent=2)
