"""`packager config --target TRIPLE --json`: the cross config as a document with a schema."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_packager
from tests.schemas import validate
from tests.unit.test_cross import SYSCONFIG, fake_root

AARCH64 = "aarch64-unknown-linux-gnu"


def _config(*args: str) -> dict[str, object]:
    completed = run_packager("config", *args, "--json", timeout=120)
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    validate(document, "config-target-v1.json")
    assert isinstance(document, dict)
    return document


def test_aarch64_config_names_the_target_and_the_roots_libpython(tmp_path: Path) -> None:
    root = fake_root(tmp_path, SYSCONFIG.replace("MARKER", "'unused'"))
    dynamic = _config("--target", AARCH64, "--python-home", str(root))
    assert dynamic["target"] == {
        "triple": AARCH64,
        "system": "linux",
        "arch": "aarch64",
        "linker": "aarch64-linux-gnu-gcc",
        "linker_package": "gcc-aarch64-linux-gnu",
        "multiarch": "aarch64-linux-gnu",
    }
    assert (dynamic["python_home"], dynamic["mode"]) == (str(root), "dynamic")
    config = dynamic["config"]
    assert isinstance(config, dict)
    assert (config["lib_name"], config["shared"]) == ("python3.11", True)
    assert config["lib_dir"] == str(root / "usr" / "lib" / "aarch64-linux-gnu")
    # The text is the config file `build --target` writes, as the text output prints it.
    text = run_packager("config", "--target", AARCH64, "--python-home", str(root)).stdout
    assert config["text"] == text
    static = _config("--target", AARCH64, "--python-home", str(root), "--mode", "static")
    assert static["mode"] == "static" and static["requested_mode"] == "static"
    assert isinstance(static["config"], dict) and static["config"]["lib_name"] == "python3.11-pic"
    assert "-Clink-arg=-Wl,--export-dynamic" in " ".join(map(str, static["rustflags"]))


def test_windows_config_document(tmp_path: Path) -> None:
    for name in ("python311.dll", "python3.dll"):
        (tmp_path / name).write_bytes(b"MZ")
    document = _config("--target", "x86_64-pc-windows-gnu", "--python-home", str(tmp_path))
    assert document["target"] == {
        "triple": "x86_64-pc-windows-gnu",
        "system": "windows",
        "arch": "x86_64",
        "linker": "x86_64-w64-mingw32-gcc",
        "linker_package": "gcc-mingw-w64-x86-64",
        "multiarch": None,
    }
    assert document["rustflags"] == []


def test_a_root_without_python_is_refused_in_one_line(tmp_path: Path) -> None:
    completed = run_packager(
        "config", "--target", AARCH64, "--python-home", str(tmp_path), "--json", timeout=120
    )
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert "expected the sysconfigdata of one CPython" in completed.stderr
    assert completed.stdout == ""
