"""Copying lib-dynload keeps this interpreter's extension modules, not another arch's."""

from __future__ import annotations

from pathlib import Path

from packager.bundle.stdlib import copy_stdlib, trim_rules


def test_extension_modules_of_another_architecture_stay_behind(tmp_path: Path) -> None:
    # Debian's libpython3.11-stdlib:arm64 installs beside the amd64 one, in one lib-dynload.
    stdlib, dynload = tmp_path / "python3.11", tmp_path / "python3.11" / "lib-dynload"
    dynload.mkdir(parents=True)
    (stdlib / "os.py").write_text("")
    names = [
        "_json.cpython-311-x86_64-linux-gnu.so",
        "_json.cpython-311-aarch64-linux-gnu.so",
        "_speedups.abi3.so",
        "plain.so",
    ]
    for name in names:
        (dynload / name).write_bytes(b"\x7fELF")
    rules, _ = trim_rules(())
    out = tmp_path / "out"
    copy_stdlib(
        str(stdlib), str(dynload), str(out), rules, ext_suffix=".cpython-311-x86_64-linux-gnu.so"
    )
    copied = sorted(path.name for path in (out / "lib-dynload").iterdir())
    assert copied == ["_json.cpython-311-x86_64-linux-gnu.so", "_speedups.abi3.so", "plain.so"]
