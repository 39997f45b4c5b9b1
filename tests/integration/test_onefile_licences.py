"""A onefile program carries licenses/ (texts and README) and sbom.cdx.json as archive
members, and its SBOM lies beside it as PROGRAM.cdx.json: samples/extmods built
statically on Debian's python3.11 with markupsafe (a compiled module) and libffi (a
system library _ctypes needs, carried inside) in the file."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from packager.bundle.onefile.builder import OnefileResult
from tests.helpers import SAMPLES, cargo_env, run_packager
from tests.integration.licence_helpers import Entry, cyclonedx_validator, parse_index
from tests.integration.test_onefile import (
    DEBIAN_PYTHON,
    EPOCH,
    _require_tools,
    build_onefile,
    run_sandboxed,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory, markupsafe_site: Path) -> OnefileResult:
    _require_tools()
    return build_onefile(
        str(SAMPLES / "extmods"),
        environ=cargo_env(SOURCE_DATE_EPOCH=EPOCH),
        out=str(tmp_path_factory.mktemp("onefile-licences") / "extmods"),
        python=DEBIAN_PYTHON,
        site_dirs=[str(markupsafe_site)],
    )


def _member(result: OnefileResult, name: str) -> bytes:
    with zipfile.ZipFile(result.path) as archive:
        return archive.read(name)


def _index(result: OnefileResult) -> list[Entry]:
    """The entries of the licenses/README the program carries."""
    return parse_index(_member(result, "licenses/README").decode("utf-8"))


def _shared_object_hashes(result: OnefileResult) -> dict[str, str]:
    """{member: SHA-256} of every ELF member of the program's archive."""
    with zipfile.ZipFile(result.path) as archive:
        data = {name: archive.read(name) for name in archive.namelist()}
    return {
        name: hashlib.sha256(content).hexdigest()
        for name, content in data.items()
        if content[:4] == b"\x7fELF"
    }


def test_the_carried_index_names_cpython_with_its_texts_inside(program: OnefileResult) -> None:
    cpython = [entry for entry in _index(program) if entry.component.startswith("CPython 3.11")]
    texts = [len(_member(program, text)) > 0 for entry in cpython for text in entry.texts]
    covers = [[*entry.files[:1], "lib-dynload/" in entry.files] for entry in cpython]
    assert (len(cpython), covers, bool(texts) and all(texts)) == (1, [["extmods", True]], True)


def test_the_carried_libffi_and_markupsafe_have_their_texts(program: OnefileResult) -> None:
    entries = {entry.component.split()[0]: entry for entry in _index(program)}
    libffi, markupsafe = entries.get("libffi8", Entry("")), entries.get("MarkupSafe", Entry(""))
    found = (
        libffi.files,
        len(libffi.texts),
        "site-packages/markupsafe/" in markupsafe.files,
        len(markupsafe.texts) > 0,
    )
    assert found == (["system-libs/libffi.so.8"], 1, True, True)


def test_pyo3_compiled_into_the_program_has_its_licence_and_texts(
    program: OnefileResult,
) -> None:
    pyo3 = [e for e in _index(program) if e.component.startswith("pyo3 0.29.")]
    found = [(e.licence, e.files, [len(_member(program, t)) > 0 for t in e.texts]) for e in pyo3]
    assert found == [("MIT OR Apache-2.0", ["extmods"], [True, True])]


def test_the_sbom_inside_is_the_one_beside_and_follows_cyclonedx_1_5(
    program: OnefileResult,
) -> None:
    inside = _member(program, "sbom.cdx.json")
    beside = Path(program.path + ".cdx.json").read_bytes()
    errors = [error.message for error in cyclonedx_validator().iter_errors(json.loads(inside))]
    assert (program.sbom, inside == beside, errors) == (program.path + ".cdx.json", True, [])


def test_every_shared_object_member_is_listed_with_its_sha256(program: OnefileResult) -> None:
    document = json.loads(Path(program.sbom).read_text(encoding="utf-8"))
    listed = {
        component["name"]: hashes["content"]
        for component in document["components"]
        if component["type"] == "file"
        for hashes in component["hashes"]
        if hashes["alg"] == "SHA-256"
    }
    expected = _shared_object_hashes(program)
    assert len(expected) > 3
    assert {name: listed.get(name) for name in expected} == expected


def test_the_program_carrying_them_still_runs(program: OnefileResult, tmp_path: Path) -> None:
    completed = run_sandboxed(Path(program.path), '"$P"', tmp_path)
    imported = [line for line in completed.stdout.splitlines() if line.startswith("imported ")]
    with zipfile.ZipFile(program.path) as archive:
        carried = {"licenses/README", "sbom.cdx.json"} <= set(archive.namelist())
    assert (completed.returncode, carried, len(imported) >= 4) == (0, True, True), (
        completed.stdout + completed.stderr
    )


def test_inspect_sbom_of_the_program_lists_cpython(program: OnefileResult) -> None:
    done = run_packager("inspect", "--sbom", program.path)
    cpython = [
        line.split()[:3] for line in done.stdout.splitlines() if "pkg:generic/cpython@" in line
    ]
    assert (done.returncode, cpython) == (0, [["framework", "CPython", "3.11.2"]]), done.stderr


def test_inspect_sbom_of_an_elf_file_without_archive_says_so() -> None:
    done = run_packager("inspect", "--sbom", DEBIAN_PYTHON)
    errors = [line for line in done.stderr.splitlines() if "no archive appended" in line]
    assert (done.returncode, len(errors)) == (2, 1), done.stderr


def test_strict_licenses_refuses_a_module_without_licence_and_writes_nothing(
    markupsafe_site: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "site"
    shutil.copytree(markupsafe_site / "markupsafe", bare / "markupsafe")  # no .dist-info
    out = tmp_path / "out"
    done = run_packager(
        "bundle", str(SAMPLES / "extmods"), "--onefile", "--python", DEBIAN_PYTHON,
        "--site", str(bare), "--out", str(out), "--strict-licenses",
        environ=cargo_env(SOURCE_DATE_EPOCH=EPOCH),
    )  # fmt: skip
    errors = [line for line in done.stderr.splitlines() if line.startswith("packager: error")]
    named = [line for line in errors if "site-packages/markupsafe/_speedups." in line]
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert (done.returncode, len(errors), len(named), written) == (2, 1, 1, []), done.stderr
