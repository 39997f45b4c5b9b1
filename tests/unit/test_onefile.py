"""`packager bundle --onefile` without building: module selection, the report, and the
start-up code's agreement with packager on the payload format (tests/integration builds)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from packager.binary.onefile_markers import COMMENT_MAGIC, SLOT_MAGIC
from packager.binary.onefile_payload import EARLY, FORMAT_VERSION, TABLE_MEMBER, SlotFields
from packager.bundle import BundleRequest, BundleRun, OnefileOptions, bundle
from packager.bundle.onefile.builder import OnefileResult
from packager.bundle.onefile.extensions import ExtensionPlan, Placement
from packager.bundle.onefile.selection import member_module, select_members
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.reporting.bundle import to_json, to_text
from tests.helpers import REPO
from tests.schemas import validate


def test_member_names_map_to_modules() -> None:
    suffixes = (".cpython-311-x86_64-linux-gnu.so", ".so")
    assert member_module("json/__init__.pyc", suffixes) == "json"
    assert member_module("json/decoder.pyc", suffixes) == "json.decoder"
    assert member_module("lib-dynload/_json.cpython-311-x86_64-linux-gnu.so", suffixes) == "_json"
    assert member_module("site-packages/markupsafe/_speedups.so", suffixes) == (
        "markupsafe._speedups"
    )
    assert member_module("email/architecture.rst", suffixes) is None


def test_selection_keeps_package_data_and_metadata_of_kept_packages() -> None:
    members = {
        name: f"/staged/{name}"
        for name in (
            "json/__init__.pyc",
            "email/__init__.pyc",
            "site-packages/markupsafe/__init__.pyc",
            "site-packages/markupsafe/py.typed",
            "site-packages/MarkupSafe-3.0.2.dist-info/METADATA",
            "site-packages/other-1.0.dist-info/METADATA",
        )
    }
    kept = select_members(members, frozenset({"json", "markupsafe"}), (".so",))
    assert sorted(kept) == [
        "json/__init__.pyc",
        "site-packages/MarkupSafe-3.0.2.dist-info/METADATA",
        "site-packages/markupsafe/__init__.pyc",
        "site-packages/markupsafe/py.typed",
    ]


def test_scripts_without_only_needed_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="choose what --only-needed keeps"):
        request = BundleRequest(
            str(tmp_path),
            out_dir=str(tmp_path / "out"),
            onefile=True,
            onefile_options=OnefileOptions(scripts=("app/main.py",)),
        )
        bundle(request, Context(environ={}))
    assert not (tmp_path / "out").exists()


def test_report_text_and_json_come_from_one_document() -> None:
    plans = (
        ExtensionPlan("_json", Placement.MEMORY, "lib-dynload/_json.so", "loaded from the file"),
        ExtensionPlan(
            "_ctypes",
            Placement.MEMORY,
            "lib-dynload/_ctypes.so",
            "loaded from the file; needs libffi.so.8 from the target system",
            ("libffi.so.8",),
        ),
        ExtensionPlan("_dbm", Placement.IMPOSSIBLE, "lib-dynload/_dbm.so", "needs libdb-5.3.so"),
    )
    result = OnefileResult(
        path="dist/hello",
        source_binary="target/release/hello",
        python_version="3.11.2",
        interpreter="/usr/bin/python3.11",
        size=9_870_000,
        executable_size=9_230_000,
        archive_size=640_000,
        archive_members=30,
        search_paths=(".",),
        extensions=plans,
        trimmed=("test",),
        kept=(),
        stripped=True,
        sha256="0" * 64,
        notes=(),
    )
    run = BundleRun("onefile", None, result, ())
    document = json.loads(to_json(run))
    validate(document, "onefile-v1.json")
    assert [e["placement"] for e in document["extensions"]] == ["memory", "memory", "impossible"]
    text = to_text(run)
    assert text.startswith("wrote dist/hello (9.87 MB: program 9.23 MB + modules 0.64 MB")
    assert "2 loaded from the file, 0 built in, 1 left out" in text
    assert "_ctypes  loaded from the file; needs libffi.so.8" in text
    assert "_dbm     needs libdb-5.3.so" in text
    assert "_json " not in text  # nothing to say about a module that just loads


def test_start_up_code_and_packager_agree_on_the_format() -> None:
    source = (REPO / "templates/runtime/packager_start.c").read_text()
    assert f'"{SLOT_MAGIC.decode()}", 0, 0, 0, 0, 0}};' in source
    assert f'#define COMMENT_MAGIC "{COMMENT_MAGIC}"' in source
    assert f"#define FORMAT {FORMAT_VERSION} " in source
    assert f'#define TABLE_MEMBER "{TABLE_MEMBER}"' in source
    assert f"#define EARLY {EARLY} " in source
    slot = source[source.index("struct payload_slot {") : source.index("__attribute__((used))")]
    assert re.search(rf"char magic\[{len(SLOT_MAGIC)}\];", slot)
    fields = re.findall(r"^    uint64_t (\w+);", slot, flags=re.MULTILINE)
    assert fields == [field.name for field in dataclasses.fields(SlotFields)]
