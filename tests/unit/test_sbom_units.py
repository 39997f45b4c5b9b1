"""The SBOM's parts that need no bundle: which licences are SPDX expressions, package URLs,
Debian versions from a root's status file, crates from a Cargo.lock, and the hash check
of a folder against a document."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from packager.binary.sbom import SBOM_NAME, hash_mismatches, read_folder_sbom
from packager.bundle.licences import Notice
from packager.bundle.sbom import SbomFacts, sbom_document, tree_files
from packager.bundle.sbom_ids import (
    DebianPackage,
    cargo_crates,
    debian_packages,
    licence_entry,
    purl,
    spdx_expression,
)
from packager.core.errors import UnreadableInputError
from packager.python.interpreters import Interpreter
from packager.python.runtime import PythonRuntime
from packager.reporting.sbom import load_sbom


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("MIT", "MIT"),
        ("mit OR apache-2.0", "MIT OR Apache-2.0"),
        ("(MIT OR Apache-2.0) AND Unicode-3.0", "(MIT OR Apache-2.0) AND Unicode-3.0"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
        ("LicenseRef-Proprietary", "LicenseRef-Proprietary"),
        ("PSF-2.0", "PSF-2.0"),
    ],
)
def test_a_valid_spdx_expression_is_written_as_spdx_spells_it(text: str, expression: str) -> None:
    assert spdx_expression(text) == expression


@pytest.mark.parametrize(
    "text",
    [
        "GPL-2+, BSD-3-clause",  # Debian's list of a copyright file
        "MIT License",  # a classifier's name
        "public domain",
        "MIT OR",
        "(MIT",
        "Apache-2.0 WITH MIT",  # not an exception
        "NotALicence-1.0",
        "",
    ],
)
def test_what_is_not_an_spdx_expression_is_refused(text: str) -> None:
    assert spdx_expression(text) is None


def test_a_valid_expression_becomes_a_cyclonedx_expression() -> None:
    assert licence_entry("mit or Apache-2.0") == [{"expression": "MIT OR Apache-2.0"}]


def test_another_licence_statement_becomes_a_licence_name() -> None:
    assert licence_entry(" GPL-2+, BSD-3-clause ") == [
        {"license": {"name": "GPL-2+, BSD-3-clause"}}
    ]


def test_no_licence_becomes_no_entry() -> None:
    assert licence_entry("  ") == []


def test_a_debian_purl_encodes_the_epoch_and_plus_and_names_the_architecture() -> None:
    assert (
        purl("deb", "libssl3", "1:3.0.19-1+deb12u2", namespace="debian", arch="amd64")
        == "pkg:deb/debian/libssl3@1%3A3.0.19-1%2Bdeb12u2?arch=amd64"
    )


def test_a_pypi_purl_normalizes_the_name() -> None:
    assert (
        purl("pypi", "Markupsafe_Extra.Thing", "3.0.2") == "pkg:pypi/markupsafe-extra-thing@3.0.2"
    )


def test_a_purl_leaves_out_an_empty_version_and_empty_qualifiers() -> None:
    assert purl("deb", "libfoo1", "", namespace="debian", arch="") == "pkg:deb/debian/libfoo1"


def test_a_cargo_purl_names_the_crate_and_version() -> None:
    assert purl("cargo", "pyo3", "0.29.3") == "pkg:cargo/pyo3@0.29.3"


def test_a_roots_status_file_gives_installed_versions_only(tmp_path: Path) -> None:
    status = tmp_path / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: libssl3\nStatus: install ok installed\nArchitecture: arm64\n"
        "Version: 3.0.19-1~deb12u2\nDescription: x\n more\n\n"
        "Package: libgone1\nStatus: deinstall ok config-files\nArchitecture: arm64\n"
        "Version: 1.0-1\n\n"
    )
    found = debian_packages(["libssl3", "libgone1"], str(tmp_path), {})
    assert found == {"libssl3": DebianPackage("3.0.19-1~deb12u2", "arm64")}


def test_a_root_without_a_status_file_gives_the_version_of_the_binnmu_changelog(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "usr" / "share" / "doc" / "libbz2-1.0"
    docs.mkdir(parents=True)
    (docs / "copyright").write_text("bzip2\n")
    for name, top in (
        ("changelog.Debian.gz", "1.0.8-5"),
        ("changelog.Debian.arm64.gz", "1.0.8-5+b1"),
    ):
        with gzip.open(docs / name, "wt") as handle:
            handle.write(f"bzip2 ({top}) sid; urgency=medium\n\n  * x\n")
    found = debian_packages(["libbz2-1.0"], str(tmp_path), {}, "arm64")
    assert found == {"libbz2-1.0": DebianPackage("1.0.8-5+b1", "arm64")}


def test_crates_come_from_the_workspace_lock_above_the_package(tmp_path: Path) -> None:
    (tmp_path / "Cargo.lock").write_text(
        'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n\n'
        '[[package]]\nname = "pyo3"\nversion = "0.29.3"\n'
        'source = "registry+https://index.example.org/"\n'
    )
    member = tmp_path / "crates" / "app"
    member.mkdir(parents=True)
    crates = cargo_crates(str(member))
    assert [(crate.name, crate.version) for crate in crates] == [("pyo3", "0.29.3")]


def _folder_with_sbom(tmp_path: Path) -> Path:
    """A folder with lib/libfoo.so.1 and an SBOM listing it with its hash."""
    (tmp_path / "lib").mkdir()
    data = b"\x7fELF library"
    (tmp_path / "lib" / "libfoo.so.1").write_bytes(data)
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [
            {
                "type": "file",
                "name": "lib/libfoo.so.1",
                "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(data).hexdigest()}],
            }
        ],
    }
    (tmp_path / SBOM_NAME).write_text(json.dumps(document))
    return tmp_path


def test_a_folder_whose_files_match_its_sbom_has_no_mismatch(tmp_path: Path) -> None:
    folder = _folder_with_sbom(tmp_path)
    assert hash_mismatches(str(folder), read_folder_sbom(str(folder))) == []


def test_a_changed_byte_in_a_listed_file_is_a_mismatch(tmp_path: Path) -> None:
    folder = _folder_with_sbom(tmp_path)
    library = folder / "lib" / "libfoo.so.1"
    data = bytearray(library.read_bytes())
    data[-1] ^= 0xFF
    library.write_bytes(bytes(data))
    [problem] = hash_mismatches(str(folder), read_folder_sbom(str(folder)))
    assert problem.startswith("lib/libfoo.so.1: its SHA-256 is not the one")


def test_a_listed_file_missing_from_the_folder_is_a_mismatch(tmp_path: Path) -> None:
    folder = _folder_with_sbom(tmp_path)
    (folder / "lib" / "libfoo.so.1").unlink()
    [problem] = hash_mismatches(str(folder), read_folder_sbom(str(folder)))
    assert "missing from the bundle" in problem


def test_a_file_that_is_not_cyclonedx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.cdx.json"
    path.write_text('{"bomFormat": "SPDX"}')
    with pytest.raises(UnreadableInputError, match="not a CycloneDX document"):
        load_sbom(str(path), {})


def _tree(root: Path, library: bytes = b"\x7fELF libfoo") -> tuple[Path, list[Notice]]:
    """A tree with bin/hello and lib/libfoo.so.1 (from the Debian package libfoo1 of a
    root beside it), and the notices licences.py would make for it."""
    tree = root / "hello"
    (tree / "bin").mkdir(parents=True)
    (tree / "lib").mkdir()
    (tree / "bin" / "hello").write_bytes(b"\x7fELF hello")
    (tree / "lib" / "libfoo.so.1").write_bytes(library)
    status = root / "sysroot" / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: libfoo1\nStatus: install ok installed\nArchitecture: arm64\nVersion: 1:2.0-1\n"
    )
    notices = [
        Notice("hello", ("bin/hello", "hello"), licence="MIT", kind="app", name="hello"),
        Notice("libfoo1", ("lib/libfoo.so.1",), licence="GPL-2+, BSD", kind="deb", name="libfoo1"),
    ]
    return tree, notices


def _document(root: Path, interpreter: Interpreter, environ: dict[str, str], **tree: bytes) -> Any:
    folder, notices = _tree(root, **tree)
    runtime = PythonRuntime(interpreter, str(root / "stdlib"), str(root / "dynload"), None, "sp")
    facts = SbomFacts("hello", "0.1.0", runtime, sysroot=str(root / "sysroot"))
    return sbom_document(tree_files(str(folder), notices), notices, facts, environ)


def test_without_source_date_epoch_the_document_carries_no_time(
    tmp_path: Path, shared_cpython: Interpreter
) -> None:
    assert "timestamp" not in _document(tmp_path, shared_cpython, {})["metadata"]


def test_the_serial_number_follows_the_content(tmp_path: Path, shared_cpython: Interpreter) -> None:
    serials = [
        _document(tmp_path / name, shared_cpython, {}, library=data)["serialNumber"]
        for name, data in (("a", b"\x7fELF 1"), ("b", b"\x7fELF 1"), ("c", b"\x7fELF 2"))
    ]
    assert (serials[0] == serials[1], serials[1] == serials[2]) == (True, False)


def test_a_vendored_library_is_a_file_of_its_debian_package(
    tmp_path: Path, shared_cpython: Interpreter
) -> None:
    document = _document(tmp_path, shared_cpython, {})
    by_ref = {component["bom-ref"]: component for component in document["components"]}
    found = (
        by_ref["deb:libfoo1"]["purl"],
        by_ref["file:lib/libfoo.so.1"]["properties"],
        by_ref["file:lib/libfoo.so.1"]["hashes"][0]["content"],
    )
    assert found == (
        "pkg:deb/debian/libfoo1@1%3A2.0-1?arch=arm64",
        [{"name": "packager:component", "value": "deb:libfoo1"}],
        hashlib.sha256(b"\x7fELF libfoo").hexdigest(),
    )


def test_two_distributions_of_one_name_get_two_bom_refs(
    tmp_path: Path, shared_cpython: Interpreter
) -> None:
    folder, notices = _tree(tmp_path)
    notices += [
        Notice("attrs 23.1", ("site/a/attrs/",), kind="pypi", name="attrs", version="23.1"),
        Notice("attrs 24.2", ("site/b/attrs/",), kind="pypi", name="attrs", version="24.2"),
    ]
    runtime = PythonRuntime(
        shared_cpython, str(tmp_path / "stdlib"), str(tmp_path / "dynload"), None, "sp"
    )
    facts = SbomFacts("hello", "0.1.0", runtime, sysroot=str(tmp_path / "sysroot"))
    document = sbom_document(tree_files(str(folder), notices), notices, facts, {})
    refs = [c["bom-ref"] for c in document["components"] if c["name"] == "attrs"]
    assert refs == ["pypi:attrs", "pypi:attrs#2"]
