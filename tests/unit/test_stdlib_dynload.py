"""The stdlib copied into a bundle: this interpreter's extension modules, compiled modules only."""

from __future__ import annotations

from pathlib import Path

from packager.bundle.stdlib import copy_stdlib, drop_compiled_sources, trim_rules


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


def test_compiled_sources_go_and_the_rest_stays(tmp_path: Path) -> None:
    # A lone mod.pyc is what the bundled interpreter imports; lib-dynload and
    # site-packages keep what they have (site-packages' hook is compiled to __pycache__).
    files = {
        "os.py": "",
        "os.pyc": "",
        "json/__init__.py": "",
        "json/__init__.pyc": "",
        "lib2to3_data/bad_syntax.py": "",  # did not compile: kept
        "LICENSE.txt": "",
        "lib-dynload/stub.py": "",
        "lib-dynload/stub.pyc": "",
        "dist-packages/_packager_restore_env.py": "",
        "dist-packages/_packager_restore_env.pyc": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    drop_compiled_sources(str(tmp_path))
    left = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.*"))
    assert left == sorted(set(files) - {"os.py", "json/__init__.py"})
