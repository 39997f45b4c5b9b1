"""The `inspect` and `check` commands end to end: JSON schema, text, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests import cbuild
from tests.helpers import run_packager

SCHEMA = json.loads(
    resources.files("packager").joinpath("schema/inspect-v1.json").read_text(encoding="utf-8")
)


def packager(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_packager(*args, cwd=cwd, timeout=120)


def inspect_json(*paths: str, extra: tuple[str, ...] = ()) -> dict[str, object]:
    done = packager("inspect", "--json", *extra, *paths)
    document = json.loads(done.stdout)
    jsonschema.validate(document, SCHEMA)
    return document


def test_debian_python_json_is_static_with_exported_symbols() -> None:
    document = inspect_json("/usr/bin/python3.11")
    (binary,) = document["binaries"]  # type: ignore[misc]
    assert binary["format"] == "elf"
    assert binary["arch"] == "x86_64"
    assert binary["kind"] == "executable"
    assert binary["link_mode"] == "static"
    assert binary["libpython"] is None
    assert binary["python_version"].startswith("3.11")
    assert binary["python_symbols"]["exported"] > 1000
    assert binary["glibc_floor"] is not None


def test_gdb_links_system_libpython() -> None:
    (binary,) = inspect_json("/usr/bin/gdb")["binaries"]  # type: ignore[misc]
    assert binary["link_mode"] == "dynamic"
    assert binary["libpython"]["name"] == "libpython3.11.so.1.0"
    assert binary["libpython"]["resolved_path"].endswith("libpython3.11.so.1.0")
    assert os.path.exists(binary["libpython"]["resolved_path"])
    # x.y.z read from the libpython it resolves to, not just x.y from the library's name.
    debian = subprocess.run(
        ["/usr/bin/python3.11", "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert binary["python_version"] == debian.stdout.strip()


def test_shared_python_has_absolute_runpath() -> None:
    import sysconfig

    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        pytest.fail("the test interpreter must be a --enable-shared build (pyenv's is)")
    executable = os.path.realpath(sys.executable)
    (binary,) = inspect_json(executable)["binaries"]  # type: ignore[misc]
    assert binary["link_mode"] == "dynamic"
    assert binary["rpath_type"] in ("RUNPATH", "RPATH")
    assert sysconfig.get_config_var("LIBDIR") in binary["rpaths"]
    assert binary["libpython"]["resolved_path"].startswith(sysconfig.get_config_var("LIBDIR"))


def test_symbols_flag_lists_names() -> None:
    (binary,) = inspect_json("/usr/bin/python3.11", extra=("--symbols",))["binaries"]  # type: ignore[misc]
    names = binary["python_symbols"]["names"]
    assert "Py_Initialize" in names["exported"]
    assert len(names["exported"]) == binary["python_symbols"]["exported"]


def test_text_output_names_link_mode() -> None:
    done = packager("inspect", "/usr/bin/gdb")
    assert done.returncode == 0, done.stderr
    assert "dynamic (Python 3.11" in done.stdout
    assert "libpython3.11.so.1.0 ->" in done.stdout


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


@pytest.mark.parametrize(
    "content", [b"", b"hello\n", b"\x7fELF", b"MZ" + b"\0" * 10, b"\xca\xfe\xba\xbe\0\0\0\2"]
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    target = tmp_path / "input.bin"
    target.write_bytes(content)
    done = packager("inspect", str(target))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert str(target) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_file_and_symlink_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    done = packager("inspect", str(tmp_path / "missing"), str(loop))
    assert done.returncode == 2
    assert "missing" in done.stderr and "loop" in done.stderr
    assert "Traceback" not in done.stderr


def test_fifo_is_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = packager("inspect", str(fifo))  # would block forever if opened
    assert done.returncode == 2
    assert "not a regular file" in done.stderr


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


def test_help_lists_examples() -> None:
    for command in ("inspect", "check"):
        done = packager(command, "--help")
        assert done.returncode == 0
        assert "Examples:" in done.stdout
