"""The Rust crates compiled into a program carry their licences: samples/hello bundled
from its crate (Debian's python3.11) lists pyo3 at its Cargo.lock version in
licenses/README with the texts cargo unpacked in CARGO_HOME, and its SBOM component
states pyo3's licence; a text several crates share is written once."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from packager.bundle import BundleFormat
from tests.helpers import SAMPLES
from tests.integration.bundle_helpers import bundle_hello_crate, output_path
from tests.integration.licence_helpers import Entry, read_index

pytestmark = pytest.mark.integration


def _pyo3_version() -> str:
    with open(SAMPLES / "hello" / "Cargo.lock", "rb") as handle:
        packages = tomllib.load(handle)["package"]
    return next(str(item["version"]) for item in packages if item["name"] == "pyo3")


def _registry_source(name: str, version: str) -> Path:
    """The folder cargo unpacked the crate into (the suite's cargo uses ~/.cargo)."""
    found = sorted((Path.home() / ".cargo" / "registry" / "src").glob(f"*/{name}-{version}"))
    assert found, f"cargo has not unpacked {name} {version}"
    return found[0]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/hello built against Debian's shared libpython and bundled as a folder."""
    manifest = bundle_hello_crate(tmp_path_factory.mktemp("crate-licences"), BundleFormat.DIR)
    return output_path(manifest, BundleFormat.DIR)


def _pyo3_entry(tree: Path) -> Entry:
    found = [entry for entry in read_index(tree) if entry.component == f"pyo3 {_pyo3_version()}"]
    assert len(found) == 1, [entry.component for entry in read_index(tree)]
    return found[0]


def test_pyo3_is_listed_with_its_licence_and_the_mit_text_cargo_unpacked(tree: Path) -> None:
    entry = _pyo3_entry(tree)
    mit = (_registry_source("pyo3", _pyo3_version()) / "LICENSE-MIT").read_bytes()
    carried = [(tree / text).read_bytes() for text in entry.texts]
    assert (entry.licence, entry.files, mit in carried) == (
        "MIT OR Apache-2.0",
        ["bin/hello"],
        True,
    )


def test_the_sbom_pyo3_component_carries_its_licence(tree: Path) -> None:
    document = json.loads((tree / "sbom.cdx.json").read_text(encoding="utf-8"))
    ref = f"cargo:pyo3@{_pyo3_version()}"
    found = [c.get("licenses") for c in document["components"] if c["bom-ref"] == ref]
    assert found == [[{"expression": "MIT OR Apache-2.0"}]]


def test_no_two_texts_in_licenses_are_the_same_bytes(tree: Path) -> None:
    contents = [path.read_bytes() for path in (tree / "licenses").rglob("*") if path.is_file()]
    assert len(contents) == len(set(contents))
