"""Reports: one module per command family turns its result values into text or JSON.

Each module offers `to_document(result)` (plain data, the JSON document), `to_json` and
`to_text`; text is rendered from the same document, so the two never disagree. Every
document carries `schema_version`, and `packager/schema/<name>-v<N>.json` describes it.
May import every stage; only `cli` imports it.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA_VERSION = 1


def dumps(document: dict[str, Any]) -> str:
    """A JSON document as the CLI prints it."""
    return json.dumps(document, indent=2)
