"""Windows bundles carry licenses/ and sbom.cdx.json, as Linux ones do: samples/hello
(with a licence file) cross-built for x86_64-pc-windows-gnu and bundled as a folder and a
zip with the official embeddable CPython 3.11.9 (tests/integration/windows_helpers.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from packager.bundle import BundleFormat, BundleManifest, BundleRequest, ContentOptions, bundle
from packager.bundle.options import ObtainOptions
from packager.core.context import Context
from packager.core.errors import UsageError
from tests.helpers import SAMPLES
from tests.integration.bundle_helpers import bundle_tree, output_path
from tests.integration.licence_helpers import covering, cyclonedx_validator, read_index
from tests.integration.windows_helpers import TARGET

pytestmark = pytest.mark.integration

APP_LICENCE = "hello is free software: do what you like with it.\n"
RUNTIME = ["vcruntime140.dll", "vcruntime140_1.dll"]


@pytest.fixture(scope="module")
def crate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/hello with a `license-file`; app/ holds a DLL under a name that is no
    DLL's (app/helper.bin)."""
    copy = tmp_path_factory.mktemp("licensed") / "hello"
    shutil.copytree(SAMPLES / "hello", copy, ignore=shutil.ignore_patterns("target"))
    (copy / "LICENSE").write_text(APP_LICENCE)
    manifest = copy / "Cargo.toml"
    text = manifest.read_text().replace(
        "publish = false\n", 'publish = false\nlicense-file = "LICENSE"\n'
    )
    manifest.write_text(text)
    return copy


def _app_dir(crate: Path, windows_home: Path) -> Path:
    shutil.copy(windows_home / "libffi-8.dll", crate / "app" / "helper.bin")
    return crate / "app"


@pytest.fixture(scope="module")
def windows_bundle(
    crate: Path,
    windows_home: Path,
    cross_environ: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> BundleManifest:
    run = bundle(
        BundleRequest(
            str(crate),
            out_dir=str(tmp_path_factory.mktemp("windows-licences")),
            formats=(BundleFormat.DIR, BundleFormat.ZIP),
            obtain=ObtainOptions(target=TARGET),
            content=ContentOptions(
                python_home=str(windows_home), app_dir=str(_app_dir(crate, windows_home))
            ),
        ),
        Context(environ=cross_environ),
    )
    assert run.manifest is not None
    return run.manifest


def _tree(manifest: BundleManifest) -> Path:
    return output_path(manifest, BundleFormat.DIR)


def _document(manifest: BundleManifest) -> Any:
    return json.loads((_tree(manifest) / "sbom.cdx.json").read_text(encoding="utf-8"))


def _pe_files(tree: Path) -> dict[str, str]:
    """{bundle path: SHA-256} of every file of `tree` that starts with the MZ magic."""
    return {
        path.relative_to(tree).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(tree.rglob("*"))
        if path.is_file() and path.read_bytes()[:2] == b"MZ"
    }


def test_the_index_gives_the_app_and_cpython_their_texts(
    windows_bundle: BundleManifest, windows_home: Path
) -> None:
    tree = _tree(windows_bundle)
    entries = read_index(tree)
    app = covering(entries, "hello.cmd")  # the crates also cover hello.exe
    cpython = covering(entries, "python311.dll")
    found = (
        [entry.component for entry in app],
        [(tree / text).read_text() for entry in app for text in entry.texts],
        [entry.component for entry in cpython],
        [(tree / text).read_bytes() for entry in cpython for text in entry.texts],
    )
    expected = (
        ["hello"],
        [APP_LICENCE],
        ["CPython 3.11.9"],
        [(windows_home / "LICENSE.txt").read_bytes()],
    )
    assert found == expected


def test_cpython_s_licence_covers_its_dlls_pyd_files_and_zip(
    windows_bundle: BundleManifest,
) -> None:
    entries = read_index(_tree(windows_bundle))
    shipped = ["python3.dll", "python311.zip", "libssl-3.dll", "sqlite3.dll", "DLLs/_ssl.pyd"]
    assert {path: [e.component for e in covering(entries, path)] for path in shipped} == {
        path: ["CPython 3.11.9"] for path in shipped
    }


def test_the_visual_cpp_runtime_is_listed_without_a_text_and_noted(
    windows_bundle: BundleManifest,
) -> None:
    entries = read_index(_tree(windows_bundle))
    runtime = {path: [(e.component, e.texts) for e in covering(entries, path)] for path in RUNTIME}
    notes = [note for note in windows_bundle.notes if note.startswith("no licence text")]
    assert (runtime, windows_bundle.unlicensed, len(notes)) == (
        {path: [("Microsoft Visual C++ Runtime", [])] for path in RUNTIME},
        tuple(RUNTIME),
        1,
    )


def test_every_pe_file_is_listed_in_the_sbom_with_its_sha256(
    windows_bundle: BundleManifest,
) -> None:
    shipped = _pe_files(_tree(windows_bundle))
    listed = {
        component["name"]: hashes["content"]
        for component in _document(windows_bundle)["components"]
        if component["type"] == "file"
        for hashes in component["hashes"]
    }
    expected_some = {"hello.exe", "python311.dll", "DLLs/_ssl.pyd", "app/helper.bin"}
    found = (expected_some <= set(shipped), {path: listed.get(path) for path in shipped})
    assert found == (True, shipped)


def test_the_sbom_follows_the_cyclonedx_1_5_schema(windows_bundle: BundleManifest) -> None:
    errors = [
        error.message for error in cyclonedx_validator().iter_errors(_document(windows_bundle))
    ]
    assert errors == []


def test_the_sbom_names_cpython_and_the_crates_of_cargo_lock(
    windows_bundle: BundleManifest,
) -> None:
    purls = [component.get("purl", "") for component in _document(windows_bundle)["components"]]
    found = (
        "pkg:generic/cpython@3.11.9" in purls,
        any(purl.startswith("pkg:cargo/pyo3@0.29.") for purl in purls),
    )
    assert found == (True, True)


def test_pyo3_compiled_into_the_exe_has_its_licence_and_texts(
    windows_bundle: BundleManifest,
) -> None:
    tree = _tree(windows_bundle)
    pyo3 = [e for e in read_index(tree) if e.component.startswith("pyo3 0.29.")]
    found = [
        (e.licence, e.files, bool(e.texts) and all((tree / t).is_file() for t in e.texts))
        for e in pyo3
    ]
    assert found == [("MIT OR Apache-2.0", ["hello.exe"], True)]


def test_the_zip_carries_both_and_its_sbom_lies_beside_it(windows_bundle: BundleManifest) -> None:
    archive = output_path(windows_bundle, BundleFormat.ZIP)
    with zipfile.ZipFile(archive) as handle:
        names = set(handle.namelist())
        inside = handle.read("hello/sbom.cdx.json")
    beside = archive.with_name(archive.name + ".cdx.json")
    assert ("hello/licenses/README" in names, beside.read_bytes()) == (True, inside)


def test_strict_licenses_refuses_the_visual_cpp_runtime_and_writes_nothing(
    windows_bundle: BundleManifest, windows_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UsageError) as refused:
        bundle_tree(
            str(_tree(windows_bundle) / "hello.exe"),
            out_dir=str(out),
            environ={},
            formats=(BundleFormat.ZIP,),
            content=ContentOptions(python_home=str(windows_home), strict_licenses=True),
        )
    message = refused.value.message
    assert (all(name in message for name in RUNTIME), os.listdir(out)) == (True, [])
