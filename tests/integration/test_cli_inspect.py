"""The `inspect` and `check` commands end to end on subjects compiled here."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.integration import cbuild
from tests.unit.test_cli_inspect import SCHEMA, inspect_json, packager


def test_directory_walk_skips_non_binaries_and_continues_past_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "dir with space" / "ok.so"
    cbuild.python_extension(good, "ok")
    (tmp_path / "dir with space" / "notes.txt").write_text("not a binary\n")
    (tmp_path / "dir with space" / "broken.so").write_bytes(good.read_bytes()[:100])
    done = packager("inspect", "--json", str(tmp_path))
    assert done.returncode == 2
    document = json.loads(done.stdout)
    jsonschema.validate(document, SCHEMA)
    assert [Path(b["path"]).name for b in document["binaries"]] == ["ok.so"]
    assert document["skipped"] >= 2  # notes.txt and the C source
    assert [Path(e["path"]).name for e in document["errors"]] == ["broken.so"]
    assert "broken.so" in done.stderr and "Traceback" not in done.stderr


def test_check_exit_codes(tmp_path: Path) -> None:
    ext = cbuild.python_extension(tmp_path / "mod.so", "mod")
    assert packager("check", str(ext)).returncode == 0
    missing = packager("check", str(ext), "--expect-module", "other")
    assert missing.returncode == 1
    assert "PKG109" in missing.stdout
    document = json.loads(packager("check", "--json", str(ext), "--expect-module", "x").stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["binaries"][0]["findings"][0]["code"] == "PKG109"
    assert packager("check", str(tmp_path / "nope")).returncode == 2


def test_check_fail_on_threshold(tmp_path: Path) -> None:
    app = cbuild.gcc(
        tmp_path / "bin" / "app",
        {"app.c": "int main(void){return 0;}\n"},
        "-Wl,-rpath,/opt/elsewhere/lib",
    )
    assert packager("check", str(app)).returncode == 0  # PKG105 is a warning
    assert packager("check", "--fail-on", "warning", str(app)).returncode == 1


def test_inspect_shows_the_findings_check_computes(tmp_path: Path) -> None:
    app = cbuild.gcc(
        tmp_path / "bin" / "app",
        {"app.c": "int main(void){return 0;}\n"},
        "-Wl,-rpath,/opt/elsewhere/lib",  # absolute and outside its tree: PKG105
    )
    clean = cbuild.python_extension(tmp_path / "lib" / "clean.so", "clean")
    inspected = inspect_json(str(app), str(clean))
    checked = json.loads(packager("check", "--json", str(app), str(clean)).stdout)

    def findings(document: dict[str, object]) -> dict[str, list[object]]:
        binaries = document["binaries"]
        assert isinstance(binaries, list)
        return {Path(b["path"]).name: b["findings"] for b in binaries}

    assert findings(inspected) == findings(checked)
    assert [f["code"] for f in findings(inspected)["app"]] == ["PKG105"]  # type: ignore[index]
    assert findings(inspected)["clean.so"] == []

    text = packager("inspect", str(app), str(clean))
    assert text.returncode == 0, text.stderr  # findings do not change inspect's exit code
    app_block, clean_block = text.stdout.split(f"\n{clean}\n")
    assert (
        "  findings   1\n" in app_block and "PKG105 warning: rpath /opt/elsewhere/lib" in app_block
    )
    assert "  findings   none" in clean_block
