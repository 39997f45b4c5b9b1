"""Reading a bundle's licenses/README the way a person would (entries, texts, files), and
the CycloneDX schema its SBOM is validated against.

Kept apart from packager's own code (packager.bundle.licences), so the tests check what
the bundle carries, not what the code believes it wrote.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

CYCLONEDX = "http://cyclonedx.org/schema/"


@dataclass
class Entry:
    """One component of licenses/README."""

    component: str
    licence: str = ""
    texts: list[str] = field(default_factory=list)  # paths relative to the bundle
    files: list[str] = field(default_factory=list)  # a folder ends with "/"


def read_index(tree: Path) -> list[Entry]:
    """The entries of `tree`/licenses/README."""
    return parse_index((tree / "licenses" / "README").read_text(encoding="utf-8"))


def parse_index(text: str) -> list[Entry]:
    """The entries of a licenses/README's `text`."""
    entries: list[Entry] = []
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            entries.append(Entry(line[1:-1]))
        elif entries and line.startswith("licence: "):
            entries[-1].licence = line.removeprefix("licence: ")
        elif entries and line.startswith("text: licenses/"):
            entries[-1].texts.append(line.removeprefix("text: "))
        elif entries and line.startswith("file: "):
            entries[-1].files.append(line.removeprefix("file: "))
    return entries


def covering(entries: list[Entry], relative: str) -> list[Entry]:
    """The entries whose files name `relative`, or a folder holding it."""
    return [
        entry
        for entry in entries
        if any(
            relative == path or (path.endswith("/") and relative.startswith(path))
            for path in entry.files
        )
    ]


def shipped_libraries(tree: Path, name: str) -> list[str]:
    """Every ELF file of the tree but the program bin/NAME: shared libraries, extension
    modules, relative to the tree."""
    found = []
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.read_bytes()[:4] == b"\x7fELF":
            found.append(path.relative_to(tree).as_posix())
    return [relative for relative in found if relative != f"bin/{name}"]


def without_text(tree: Path, name: str) -> list[str]:
    """The shipped libraries that no entry with a licence text present in the tree covers."""
    entries = read_index(tree)
    return [
        relative
        for relative in shipped_libraries(tree, name)
        if not any(
            entry.texts and all((tree / text).is_file() for text in entry.texts)
            for entry in covering(entries, relative)
        )
    ]


def debian_package_files(package: str) -> list[str]:
    """What the Debian package `package` installs (`dpkg -L`)."""
    done = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def debian_copyright(package: str) -> bytes:
    """The copyright file of the installed Debian package `package` (its doc folder may be
    a link to another package's)."""
    return (Path("/usr/share/doc") / package / "copyright").resolve().read_bytes()


def cyclonedx_validator() -> jsonschema.Validator:
    """CycloneDX 1.5's JSON schema as cyclonedx-python-lib ships it, with the SPDX and JSF
    schemas it refers to."""
    folder = resources.files("cyclonedx.schema").joinpath("_res")

    def load(name: str) -> Any:
        return json.loads(folder.joinpath(name).read_text(encoding="utf-8"))

    bom = load("bom-1.5.SNAPSHOT.schema.json")
    registry = Registry().with_resources(
        (f"{CYCLONEDX}{name}", Resource.from_contents(load(name)))
        for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json")
    )
    return jsonschema.Draft7Validator(
        bom, registry=registry, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
