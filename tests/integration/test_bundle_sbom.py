"""Every Linux bundle carries sbom.cdx.json (CycloneDX 1.5), and a copy of it lies beside
each output: samples/hello built on Debian's python3.11 and bundled twice, as a folder
and a .tar.zst, with SOURCE_DATE_EPOCH set; and bundled on the portable runtime 3.11."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from packager.binary.sbom import hash_mismatches
from packager.bundle import BundleFormat, BundleManifest, BundleRequest, ObtainOptions, bundle
from packager.core.context import Context
from packager.python.portable import Runtime
from tests.helpers import CARGO_TARGET_DIR, SAMPLES, cargo_env, run_packager
from tests.integration.bundle_helpers import DEBIAN_PYTHON, SOURCE_DATE_EPOCH, output_path
from tests.integration.licence_helpers import cyclonedx_validator
from tests.portable_helpers import built_runtime

pytestmark = pytest.mark.integration


def _bundle(out: Path, python: str = DEBIAN_PYTHON, **extra: str) -> BundleManifest:
    environ = cargo_env(SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, **extra)
    environ.pop("PYTHONUNBUFFERED", None)
    request = BundleRequest(
        str(SAMPLES / "hello"),
        out_dir=str(out),
        formats=(BundleFormat.DIR, BundleFormat.TAR_ZST),
        obtain=ObtainOptions(mode="dynamic", python=python),
    )
    run = bundle(request, Context(environ=environ))
    assert run.manifest is not None
    return run.manifest


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[BundleManifest, BundleManifest]:
    """The same input bundled twice, into two output directories."""
    return (
        _bundle(tmp_path_factory.mktemp("sbom-one")),
        _bundle(tmp_path_factory.mktemp("sbom-two")),
    )


def _folder(manifest: BundleManifest) -> Path:
    return output_path(manifest, BundleFormat.DIR)


def _document(manifest: BundleManifest) -> Any:
    return json.loads((_folder(manifest) / "sbom.cdx.json").read_text(encoding="utf-8"))


def _elf_files(folder: Path) -> dict[str, str]:
    """{bundle path: SHA-256} of every ELF file in `folder`, links aside."""
    found: dict[str, str] = {}
    for top, _folders, files in os.walk(folder):
        for name in files:
            path = Path(top) / name
            if not path.is_symlink() and path.read_bytes()[:4] == b"\x7fELF":
                relative = path.relative_to(folder).as_posix()
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _listed_hashes(document: Any) -> dict[str, str]:
    return {
        component["name"]: hashes["content"]
        for component in document["components"]
        if component["type"] == "file"
        for hashes in component["hashes"]
        if hashes["alg"] == "SHA-256"
    }


def test_the_sbom_follows_the_cyclonedx_1_5_schema(bundles: tuple[BundleManifest, ...]) -> None:
    errors = [error.message for error in cyclonedx_validator().iter_errors(_document(bundles[0]))]
    assert errors == []


def test_every_shipped_elf_file_is_listed_with_its_sha256(
    bundles: tuple[BundleManifest, ...],
) -> None:
    shipped = _elf_files(_folder(bundles[0]))
    listed = _listed_hashes(_document(bundles[0]))
    assert {path: listed.get(path) for path in shipped} == shipped


def test_the_app_cpython_openssl_and_pyo3_are_named_with_versions_and_purls(
    bundles: tuple[BundleManifest, ...],
) -> None:
    document = _document(bundles[0])
    app = document["metadata"]["component"]
    purls = [component.get("purl", "") for component in document["components"]]
    found = (
        (app["type"], app["name"], app["version"]),
        any(purl.startswith("pkg:generic/cpython@3.11.") for purl in purls),
        any(purl.startswith("pkg:deb/debian/libssl3@") for purl in purls),
        any(purl.startswith("pkg:cargo/pyo3@0.29.") for purl in purls),
    )
    assert found == (("application", "hello", "0.1.0"), True, True, True)


def test_the_timestamp_is_source_date_epoch(bundles: tuple[BundleManifest, ...]) -> None:
    assert _document(bundles[0])["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"


def _member(archive: Path, name: str) -> bytes:
    """The bytes of member `name` of the .tar.zst `archive`."""
    plain = subprocess.run(["zstd", "-q", "-d", "-c", str(archive)], capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read()


def test_the_sbom_beside_the_tar_zst_is_the_one_inside(
    bundles: tuple[BundleManifest, ...],
) -> None:
    archive = output_path(bundles[0], BundleFormat.TAR_ZST)
    beside = archive.with_name(f"{archive.name}.cdx.json").read_bytes()
    assert _member(archive, "hello/sbom.cdx.json") == beside


def test_sha256sums_lists_the_sboms_beside_the_outputs(
    bundles: tuple[BundleManifest, ...],
) -> None:
    out = _folder(bundles[0]).parent
    checked = subprocess.run(
        ["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=out, capture_output=True, text=True
    )
    assert checked.stdout.splitlines() == [
        "hello.cdx.json: OK",
        "hello.tar.zst: OK",
        "hello.tar.zst.cdx.json: OK",
    ]


def test_two_bundles_of_the_same_input_carry_byte_identical_sboms(
    bundles: tuple[BundleManifest, ...],
) -> None:
    one, two = ((_folder(m) / "sbom.cdx.json").read_bytes() for m in bundles)
    assert one == two


def test_a_flipped_byte_in_a_shipped_library_fails_the_hash_check(
    bundles: tuple[BundleManifest, ...], tmp_path: Path
) -> None:
    copy = tmp_path / "hello"
    shutil.copytree(_folder(bundles[0]), copy, symlinks=True)
    library = copy / "lib" / "libssl.so.3"
    data = bytearray(library.read_bytes())
    data[len(data) // 2] ^= 0x01
    library.write_bytes(bytes(data))
    problems = hash_mismatches(str(copy), _document(bundles[0]))
    assert [problem.split(":")[0] for problem in problems] == ["lib/libssl.so.3"]


def test_inspect_sbom_of_the_folder_lists_pyo3(bundles: tuple[BundleManifest, ...]) -> None:
    result = run_packager("inspect", "--sbom", str(_folder(bundles[0])))
    pyo3 = [line.split() for line in result.stdout.splitlines() if "pkg:cargo/pyo3@" in line]
    assert (result.returncode, [line[:2] for line in pyo3]) == (0, [["library", "pyo3"]])


def test_inspect_sbom_json_of_the_archive_is_the_document(
    bundles: tuple[BundleManifest, ...],
) -> None:
    archive = output_path(bundles[0], BundleFormat.TAR_ZST)
    result = run_packager("inspect", "--sbom", str(archive), "--json")
    assert json.loads(result.stdout) == _document(bundles[0])


@pytest.fixture(scope="module")
def runtime_bundle(tmp_path_factory: pytest.TempPathFactory) -> BundleManifest:
    """samples/hello on the portable runtime 3.11 (its own target dir, as
    test_bundle_licences.py builds it)."""
    runtime: Runtime = built_runtime("3.11")
    target = str(CARGO_TARGET_DIR.parent / "test-cargo-runtime")
    out = tmp_path_factory.mktemp("sbom-runtime")
    return _bundle(out, runtime.executable, CARGO_TARGET_DIR=target)


def test_every_elf_file_of_a_runtime_bundle_is_listed_with_its_sha256(
    runtime_bundle: BundleManifest,
) -> None:
    shipped = _elf_files(_folder(runtime_bundle))
    listed = _listed_hashes(_document(runtime_bundle))
    assert {path: listed.get(path) for path in shipped} == shipped


def test_a_runtime_bundle_names_its_runtime_and_the_openssl_source_package(
    runtime_bundle: BundleManifest,
) -> None:
    document = _document(runtime_bundle)
    by_ref = {component["bom-ref"]: component for component in document["components"]}
    runtime = [
        p["value"] for p in by_ref["cpython"]["properties"] if p["name"] == "packager:runtime"
    ]
    openssl = by_ref["runtime-source:openssl"]["purl"]
    found = (
        runtime[0].startswith("runtime:3.11."),
        openssl.startswith("pkg:deb/debian/openssl@3."),
    )
    assert (found, openssl.endswith("?arch=source")) == ((True, True), True)
