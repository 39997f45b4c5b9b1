"""Reading a bundle's SBOM back: `sbom.cdx.json` (CycloneDX 1.5 JSON) at the top of a Linux
bundle, or a `.cdx.json` file beside an output.

The document's shape is packager.bundle.sbom's: the app is `metadata.component`, every
other component is in `components`, and each shipped file is a component of type `file`
named by its path in the bundle, with its SHA-256 in `hashes`. `file_hashes` and
`hash_mismatches` read those, to check a bundle's files against its SBOM. Reading parses
JSON and hashes files; nothing is run.
"""

from __future__ import annotations

import json
import os
from typing import Any

from packager.core.errors import UnreadableInputError
from packager.core.fsutil import sha256_file

SBOM_NAME = "sbom.cdx.json"  # at the top of a bundle folder
SBOM_SUFFIX = ".cdx.json"  # OUTPUT.cdx.json beside each output
MAX_SBOM_SIZE = 64 << 20  # a larger file is not an SBOM packager wrote
_FIX = "pass a bundle folder, an archive `packager bundle` wrote, or its .cdx.json"


def parse_sbom(data: bytes, path: str) -> dict[str, Any]:
    """The CycloneDX document in `data` (read from `path`); UnreadableInputError if it is
    not one."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableInputError(f"not a JSON SBOM: {exc}", path=path, fix=_FIX) from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise UnreadableInputError("not a CycloneDX document", path=path, fix=_FIX)
    return document


def read_sbom_file(path: str) -> dict[str, Any]:
    """The CycloneDX document in the file `path` (a regular file: a FIFO is never opened)."""
    if not os.path.isfile(path):
        raise UnreadableInputError("not a regular file", path=path, fix=_FIX)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SBOM_SIZE + 1)
        if len(data) > MAX_SBOM_SIZE:
            raise UnreadableInputError("too large for an SBOM", path=path, fix=_FIX)
    except OSError as exc:
        raise UnreadableInputError(f"cannot read it: {exc.strerror}", path=path, fix=_FIX) from None
    return parse_sbom(data, path)


def read_folder_sbom(folder: str) -> dict[str, Any]:
    """The SBOM at the top of the bundle folder `folder`."""
    path = os.path.join(folder, SBOM_NAME)
    if not os.path.isfile(path):
        raise UnreadableInputError(
            f"the folder has no {SBOM_NAME}",
            path=folder,
            fix="bundle it again with this packager: every bundle it writes carries one",
        )
    return read_sbom_file(path)


def components(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The subject (metadata.component) first, then every listed component."""
    found: list[dict[str, Any]] = []
    subject = document.get("metadata", {}).get("component")
    if isinstance(subject, dict):
        found.append(subject)
    listed = document.get("components", [])
    found += [item for item in listed if isinstance(item, dict)]
    return found


def file_hashes(document: dict[str, Any]) -> dict[str, str]:
    """{bundle path: SHA-256} of every file component with a SHA-256 hash."""
    found: dict[str, str] = {}
    for component in components(document):
        if component.get("type") != "file":
            continue
        for entry in component.get("hashes", []):
            if isinstance(entry, dict) and entry.get("alg") == "SHA-256":
                found[str(component.get("name", ""))] = str(entry.get("content", "")).lower()
    return found


def hash_mismatches(folder: str, document: dict[str, Any]) -> list[str]:
    """One message per file the SBOM lists with a hash that `folder` lacks or holds with
    other content; [] when every one matches."""
    problems: list[str] = []
    root = os.path.realpath(folder)
    for relative, digest in sorted(file_hashes(document).items()):
        path = os.path.realpath(os.path.join(root, *relative.split("/")))
        if not path.startswith(root + os.sep):
            problems.append(f"{relative}: the SBOM names a path outside the bundle")
        elif not os.path.isfile(path):
            problems.append(f"{relative}: listed in {SBOM_NAME} but missing from the bundle")
        elif sha256_file(path) != digest:
            problems.append(
                f"{relative}: its SHA-256 is not the one {SBOM_NAME} lists (the file was "
                "changed after the bundle was made)"
            )
    return problems
