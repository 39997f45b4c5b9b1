"""The prepared-runtime cache key follows the stdlib files it copies, not only their folders."""

from __future__ import annotations

from pathlib import Path

from packager.bundle import stdlib
from packager.bundle.prepared import RuntimeOptions, runtime_key
from packager.python.interpreters import Interpreter
from packager.python.runtime import PythonRuntime


def _runtime(interpreter: Interpreter, root: Path) -> PythonRuntime:
    stdlib_dir = root / "lib" / f"python{interpreter.short_version}"
    dynload = stdlib_dir / "lib-dynload"
    for folder in (dynload, stdlib_dir / "json" / "__pycache__", stdlib_dir / "site-packages"):
        folder.mkdir(parents=True)
    (stdlib_dir / "os.py").write_text("")
    (stdlib_dir / "json" / "__init__.py").write_text("")
    (dynload / f"_json{interpreter.ext_suffix}").write_bytes(b"\x7fELF")
    return PythonRuntime(interpreter, str(stdlib_dir), str(dynload), None, "site-packages")


def test_a_file_a_package_adds_to_the_stdlib_makes_a_new_key(
    tmp_path: Path, shared_cpython: Interpreter
) -> None:
    runtime = _runtime(shared_cpython, tmp_path)
    options = RuntimeOptions(rules=stdlib.trim_rules(())[0])
    first = runtime_key(runtime, options)
    assert runtime_key(runtime, options) == first
    # What the copy leaves out does not count: caches and third-party packages.
    (Path(runtime.stdlib_dir) / "json" / "__pycache__" / "__init__.cpython-311.pyc").write_text("")
    (Path(runtime.stdlib_dir) / "site-packages" / "extra.py").write_text("")
    assert runtime_key(runtime, options) == first
    # A debug build's modules beside the release ones (Debian's libpython3.X-dbg).
    (Path(runtime.dynload_dir) / "_json.cpython-311d-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    second = runtime_key(runtime, options)
    assert second != first
    # A stdlib module replaced in place, same name, by an upgrade.
    (Path(runtime.stdlib_dir) / "json" / "__init__.py").write_text("import sys\n")
    assert runtime_key(runtime, options) not in (first, second)
