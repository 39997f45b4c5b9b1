"""`packager config`, run as a user runs it: a subprocess of the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from packager.crate.pyo3_config import parse
from packager.python.interpreters import Interpreter
from tests import fake_pyenv
from tests.helpers import run_packager
from tests.pythons import sysconfig_of

SCHEMA = json.loads(
    resources.files("packager").joinpath("schema/config-v1.json").read_text(encoding="utf-8")
)

DEBIAN_PYTHON = "/usr/bin/python3.11"


def _packager(
    *args: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_packager("config", *args, environ=environ, timeout=120)


def _require(path: str) -> str:
    if not os.path.exists(path):
        pytest.fail(f"{path} is not installed")
    return path


def test_help_has_examples() -> None:
    result = _packager("--help")
    assert result.returncode == 0
    assert "Examples:" in result.stdout and "--mode static" in result.stdout
    assert "--list" in result.stdout


def test_static_config_output_is_a_valid_config_file() -> None:
    result = _packager("--python", _require(DEBIAN_PYTHON), "--mode", "static")
    assert result.returncode == 0, result.stderr
    config = parse(result.stdout)  # strict file rules: no blank or comment lines
    assert not config.shared and config.lib_name == "python3.11-pic"
    assert result.stdout.splitlines()[0] == "implementation=CPython"


def test_auto_picks_dynamic_for_an_enable_shared_python(shared_cpython: Interpreter) -> None:
    result = _packager("--python", shared_cpython.path)
    assert result.returncode == 0, result.stderr
    assert "shared=true\n" in result.stdout
    assert f"lib_dir={sysconfig_of(shared_cpython)['LIBDIR']}\n" in result.stdout


def test_python_is_taken_from_pyo3_python(shared_cpython: Interpreter) -> None:
    environ = {**os.environ, "PYO3_PYTHON": shared_cpython.path}
    result = _packager(environ=environ)
    assert result.returncode == 0, result.stderr
    assert f"executable={shared_cpython.path}\n" in result.stdout


def test_json_output_is_versioned_and_carries_the_text(shared_cpython: Interpreter) -> None:
    result = _packager("--python", shared_cpython.path, "--mode", "dynamic", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["schema_version"] == 1
    assert document["mode"] == "dynamic" and document["requested_mode"] == "dynamic"
    assert document["interpreter"]["implementation"] == "cpython"
    assert parse(document["config"]["text"]).lib_dir == document["config"]["lib_dir"]


def test_pypy_is_refused_with_exit_2_and_a_fix(pypy: Interpreter) -> None:
    result = _packager("--python", pypy.path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "PyPy cannot be embedded" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_directory_or_non_program_as_python_is_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "python3"
    garbage.write_bytes(b"\x00\x01 not a program")
    garbage.chmod(0o755)
    for candidate in (tmp_path, garbage):
        result = _packager("--python", str(candidate))
        assert result.returncode == 2, result.stderr
        assert str(candidate) in result.stderr and "internal error" not in result.stderr


def test_missing_python_is_exit_2_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "python3.42")
    result = _packager("--python", missing)
    assert result.returncode == 2
    assert missing in result.stderr


def test_list_shows_usable_and_unusable_interpreters(
    tmp_path: Path, static_cpython: Interpreter, second_cpython: Interpreter, pypy: Interpreter
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    second = bin_dir / f"python{second_cpython.short_version}"
    (bin_dir / "python3").symlink_to(static_cpython.path)
    second.symlink_to(second_cpython.path)
    environ = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    args = ["--list", "--python", pypy.path]
    text = _packager(*args, environ=environ)
    assert text.returncode == 0, text.stderr
    assert f"{bin_dir}/python3  [PATH]\n  cpython {static_cpython.short_version}." in text.stdout
    assert Path(str(static_cpython.static_archive)).name in text.stdout
    # Each installation is listed under its own path, with its own libpython.
    second_entry = f"{second}  [PATH]\n  cpython {second_cpython.version}\n  shared: "
    assert f"{second_entry}{second_cpython.shared_library}\n" in text.stdout

    listed = json.loads(_packager(*args, "--json", environ=environ).stdout)
    jsonschema.validate(listed, SCHEMA)
    assert listed["schema_version"] == 1
    by_path = {entry["path"]: entry for entry in listed["interpreters"]}
    assert by_path[f"{bin_dir}/python3"]["usable"] is True
    assert by_path[str(second)]["version"] == second_cpython.version
    assert by_path[str(second)]["shared_library"] == second_cpython.shared_library
    assert by_path[pypy.path]["usable"] is False
    assert "PyPy" in by_path[pypy.path]["problem"]
    assert "unusable: PyPy cannot be embedded" in text.stdout


def test_list_finds_pyenv_versions_and_notes_unselected_shims(tmp_path: Path) -> None:
    selected, unselected = fake_pyenv.pyenv_pair()
    python2 = fake_pyenv.python2()
    root = fake_pyenv.make_root(
        tmp_path / ".pyenv",
        {
            fake_pyenv.version_name(selected): fake_pyenv.installed(selected),
            unselected.version: fake_pyenv.installed(unselected),
            "2.7": python2,
        },
    )
    environ = fake_pyenv.pyenv_environ(root, fake_pyenv.version_name(selected), tmp_path / "bin")
    del environ["PYENV_ROOT"]  # found as ~/.pyenv: HOME is the root's parent
    text = _packager("--list", environ=environ)
    assert text.returncode == 0, text.stderr
    unselected_path = (
        root / "versions" / unselected.version / "bin" / f"python{unselected.short_version}"
    )
    assert f"{unselected_path}  [pyenv]\n  cpython {unselected.version}" in text.stdout
    selected_shim = root / "shims" / f"python{selected.short_version}"
    assert f"{selected_shim}  [PATH]\n  {selected.implementation} {selected.version}" in text.stdout
    assert "command not found" not in text.stdout
    assert "unusable: Python 2 cannot be embedded by PyO3" in text.stdout
    assert "Unknown option" not in text.stdout
    (note,) = [line for line in text.stdout.splitlines() if line.startswith("note: ")]
    assert f"python{unselected.short_version}" in note

    listed = json.loads(_packager("--list", "--json", environ=environ).stdout)
    jsonschema.validate(listed, SCHEMA)
    assert [note.removeprefix("note: ")] == listed["notes"]
    by_path = {entry["path"]: entry for entry in listed["interpreters"]}
    assert by_path[str(unselected_path)]["source"] == "pyenv"
    assert by_path[str(unselected_path)]["usable"] is True
    python2_path = root / "versions" / "2.7" / "bin" / python2.command
    assert by_path[str(python2_path)]["usable"] is False


def test_python2_is_refused_in_plain_words() -> None:
    result = _packager("--python", fake_pyenv.python2().executable)
    assert result.returncode == 2
    assert "Python 2 cannot be embedded by PyO3" in result.stderr
    assert "Unknown option" not in result.stderr and "Traceback" not in result.stderr
