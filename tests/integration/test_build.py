"""`packager build` with real cargo and linkers, in both link modes, running what it builds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from packager.python.interpreters import Interpreter
from tests.helpers import CARGO_TARGET_DIR, SAMPLES, cargo_env, require_cargo, run_packager
from tests.pythons import INSTALL_STATIC, has_pic_archive


def packager(*args: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_packager(*args, environ=environ if environ is not None else cargo_env())


def load_schema(name: str) -> dict:  # type: ignore[type-arg]
    text = resources.files("packager").joinpath(f"schema/{name}").read_text(encoding="utf-8")
    schema: dict = json.loads(text)  # type: ignore[type-arg]
    return schema


BUILD_SCHEMA = load_schema("build-v1.json")
INSPECT_SCHEMA = load_schema("inspect-v1.json")


def build_json(crate: Path, *args: str, environ: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    done = packager("build", str(crate), "--json", *args, environ=environ)
    assert done.returncode == 0, done.stderr[-3000:]
    document: dict = json.loads(done.stdout)  # type: ignore[type-arg]
    jsonschema.validate(document, BUILD_SCHEMA)
    jsonschema.validate(document["check"], INSPECT_SCHEMA)
    return document


def copy_crate(name: str, tmp_path: Path) -> Path:
    require_cargo()
    target = tmp_path / f"{name} copy"  # a space in the path, as users have
    shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns("target"))
    return target


def run(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    # No LD_LIBRARY_PATH, no PYTHONHOME: the binary must find its own libpython and stdlib.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LD_"))}
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, env=environ, timeout=120, check=False
    )


def the_binary(document: dict) -> dict:  # type: ignore[type-arg]
    (binary,) = document["check"]["binaries"]
    return binary  # type: ignore[no-any-return]


def test_dynamic_build_runs_the_chosen_interpreter(
    tmp_path: Path, shared_cpython: Interpreter
) -> None:
    python, libdir = shared_cpython.path, str(shared_cpython.libdir)
    document = build_json(copy_crate("hello", tmp_path), "--mode", "dynamic", "--python", python)
    assert document["mode"] == "dynamic"
    assert document["modules"] == ["hello_native"]
    binary = the_binary(document)
    assert binary["link_mode"] == "dynamic"
    assert binary["libpython"]["resolved_path"].startswith(libdir)
    done = run(binary["path"])
    assert done.returncode == 0, done.stderr
    # The system has another libpython3.11.so.1.0 (Debian's); the build's rpath wins.
    assert done.stdout.split()[0] == document["python_version"]
    assert "hello, packager, from Rust" in done.stdout


def test_static_build_imports_compiled_extensions(
    tmp_path: Path, markupsafe_site: Path, static_cpython: Interpreter
) -> None:
    crate = copy_crate("extmods", tmp_path)
    document = build_json(crate, "--mode", "static", "--python", static_cpython.path)
    binary = the_binary(document)
    assert document["mode"] == "static"
    assert binary["link_mode"] == "static"
    assert binary["libpython"] is None
    assert not any("libpython" in lib["name"] for lib in binary["needed"])
    assert binary["python_symbols"]["exported"] > 1000
    assert binary["findings"] == []
    done = run(binary["path"], str(markupsafe_site))
    assert done.returncode == 0, done.stderr
    assert f"python {static_cpython.version}" in done.stdout
    for module in ("_decimal", "_ctypes", "_json", "markupsafe._speedups"):
        assert f"imported {module} from " in done.stdout


def test_same_static_build_without_exported_symbols_fails_and_check_says_why(
    tmp_path: Path, markupsafe_site: Path, static_cpython: Interpreter
) -> None:
    python = static_cpython.path
    crate = copy_crate("extmods", tmp_path)
    document = build_json(crate, "--mode", "static", "--python", python)
    # Same PyO3 config, plain cargo, none of packager's linker flags.
    environ = cargo_env(PYO3_CONFIG_FILE=document["config_file"], PYO3_PYTHON=python)
    environ["CARGO_TARGET_DIR"] = str(CARGO_TARGET_DIR / "no-export")
    subprocess.run(["cargo", "build", "--quiet"], cwd=crate, env=environ, check=True, timeout=900)
    binary = str(CARGO_TARGET_DIR / "no-export" / "debug" / "extmods")
    done = run(binary, str(markupsafe_site))
    assert done.returncode != 0
    assert "undefined symbol: Py" in done.stderr or "undefined symbol: _Py" in done.stderr
    checked = packager("check", "--json", binary)
    assert checked.returncode == 1
    codes = [f["code"] for f in json.loads(checked.stdout)["binaries"][0]["findings"]]
    assert "PKG101" in codes


def test_non_pic_archive_is_diagnosed_before_linking(
    tmp_path: Path, static_cpython: Interpreter
) -> None:
    if not has_pic_archive(static_cpython):
        pytest.fail(f"a position-independent libpython archive is needed: {INSTALL_STATIC}")
    archive = tmp_path / f"libpython{static_cpython.ldversion}-mixed.a"
    shutil.copyfile(str(static_cpython.static_archive), archive)
    source = tmp_path / "absolute.c"
    source.write_text("int counter;\nint *counter_address(void) { return &counter; }\n")
    subprocess.run(
        ["gcc", "-c", "-fno-pic", "-fno-pie", "-O1", "-o", str(tmp_path / "absolute.o"), source],
        check=True,
    )
    subprocess.run(["ar", "rs", str(archive), str(tmp_path / "absolute.o")], check=True)
    crate = copy_crate("hello", tmp_path)
    done = packager(
        "build", str(crate), "--mode", "static", "--python", static_cpython.path,
        "--static-library", str(archive),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "is not position-independent" in done.stderr
    assert "absolute.o" in done.stderr
    # The diagnosis comes before cargo compiles anything, let alone links.
    assert done.stderr.index("not position-independent") < done.stderr.index("Compiling")
    built = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("built "))
    with open(built, "rb") as handle:
        header = handle.read(18)
    assert int.from_bytes(header[16:18], "little") == 2  # ET_EXEC: a non-PIE executable
    ran = run(built)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(static_cpython.version)


def test_renamed_and_several_modules_are_registered(
    tmp_path: Path, shared_cpython: Interpreter
) -> None:
    python = shared_cpython.path
    crate = tmp_path / "multi"
    made = packager("new", "multi", "--module", "alpha", "--module", "beta", "--path", str(crate))
    assert made.returncode == 0, made.stderr
    beta = crate / "src" / "beta.rs"
    beta.write_text(beta.read_text().replace("#[pymodule]", '#[pymodule]\n#[pyo3(name = "gamma")]'))
    app = crate / "app" / "main.py"
    app.write_text(app.read_text().replace("beta", "gamma"))
    document = build_json(crate, "--python", python)
    assert sorted(document["modules"]) == ["alpha", "gamma"]
    binary = the_binary(document)
    assert binary["findings"] == [] or all(f["code"] == "PKG105" for f in binary["findings"])
    assert {"PyInit_alpha", "PyInit_gamma"} <= set(binary["python_symbols"]["pyinit"])
    done = run(binary["path"])
    assert done.returncode == 0, done.stderr
    assert "from alpha" in done.stdout and "from beta" in done.stdout  # gamma's greet text


@pytest.mark.parametrize(
    ("rename", "message"),
    [("json", "standard-library module"), ("sys", "built-in module"), ("alpha", "both named")],
)
def test_colliding_module_name_is_refused(tmp_path: Path, rename: str, message: str) -> None:
    crate = tmp_path / "clash"
    assert (
        packager("new", "clash", "-m", "alpha", "-m", "beta", "--path", str(crate)).returncode == 0
    )
    beta = crate / "src" / "beta.rs"
    beta.write_text(
        beta.read_text().replace("#[pymodule]", f'#[pymodule]\n#[pyo3(name = "{rename}")]')
    )
    done = packager("build", str(crate))
    assert done.returncode == 2
    assert message in done.stderr
    assert "beta" in done.stderr and "Traceback" not in done.stderr


def test_users_own_crate_keeps_its_rustflags_in_both_modes(
    tmp_path: Path, shared_cpython: Interpreter, static_cpython: Interpreter
) -> None:
    crate = tmp_path / "own"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "own"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\npyo3 = "0.29"\n\n[workspace]\n'
    )
    (crate / "src" / "main.rs").write_text(
        "use pyo3::prelude::*;\n\n"
        "#[pymodule]\nmod mine {\n    #[pymodule_export]\n    const ANSWER: i32 = 42;\n}\n\n"
        "fn main() {\n"
        '    #[cfg(user_flag)]\n    println!("user flag seen");\n'
        "    pyo3::append_to_inittab!(mine);\n    Python::initialize();\n"
        "    Python::attach(|py| {\n"
        '        let answer: i32 = py.import("mine").unwrap().getattr("ANSWER").unwrap()'
        ".extract().unwrap();\n"
        '        println!("answer {answer}");\n    });\n}\n'
    )
    environ = cargo_env(RUSTFLAGS="--cfg user_flag")
    for args in (
        ("--mode", "dynamic", "--python", shared_cpython.path),
        ("--mode", "static", "--python", static_cpython.path),
    ):
        document = build_json(crate, *args, environ=environ)
        assert document["inittab_generated"] is False  # registered by hand, left alone
        assert not (crate / "src" / "packager_inittab.rs").exists()
        done = run(the_binary(document)["path"])
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["user flag seen", "answer 42"]


def test_pypy_is_refused(tmp_path: Path, pypy: Interpreter) -> None:
    done = packager("build", str(copy_crate("hello", tmp_path)), "--python", pypy.path)
    assert done.returncode == 2
    assert "PyPy cannot be embedded" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_cargo_is_reported(tmp_path: Path) -> None:
    crate = copy_crate("hello", tmp_path)
    environ = cargo_env()
    environ["PATH"] = "/usr/bin:/bin"  # no ~/.cargo/bin
    done = packager("build", str(crate), environ=environ)
    assert done.returncode == 3
    assert "'cargo' was not found" in done.stderr
    assert "rustup" in done.stderr and "Traceback" not in done.stderr


def test_cargo_failure_is_explained(tmp_path: Path, shared_cpython: Interpreter) -> None:
    python = shared_cpython.path
    crate = copy_crate("hello", tmp_path)
    main = crate / "src" / "main.rs"
    main.write_text(main.read_text().replace("Python::attach(", "Python::with_gil("))
    done = packager("build", str(crate), "--python", python, "-q")
    assert done.returncode == 3
    assert "Python::attach instead of Python::with_gil" in done.stderr


def test_lto_archive_is_refused_before_cargo_runs(
    tmp_path: Path, static_cpython: Interpreter
) -> None:
    source = tmp_path / "lto.c"
    source.write_text("int lto_function(int x) { return x * 2; }\n")
    subprocess.run(["gcc", "-c", "-flto", "-o", str(tmp_path / "lto.o"), source], check=True)
    archive = tmp_path / f"libpython{static_cpython.ldversion}-lto.a"
    subprocess.run(["ar", "rcs", str(archive), str(tmp_path / "lto.o")], check=True)
    crate = copy_crate("hello", tmp_path)
    done = packager(
        "build", str(crate), "--mode", "static", "--python", static_cpython.path,
        "--static-library", str(archive),
    )  # fmt: skip
    assert done.returncode == 2
    assert "LTO bytecode" in done.stderr and "lto.o" in done.stderr
    assert "Compiling" not in done.stderr  # refused before cargo started
    assert "Traceback" not in done.stderr


def test_missing_c_toolchain_is_reported(tmp_path: Path) -> None:
    crate = copy_crate("hello", tmp_path)
    tools = tmp_path / "only-cargo"
    tools.mkdir()
    cargo = shutil.which("cargo")
    assert cargo is not None
    (tools / "cargo").symlink_to(cargo)
    environ = cargo_env()
    environ["PATH"] = str(tools)  # cargo, but no cc
    done = packager("build", str(crate), environ=environ)
    assert done.returncode == 3
    assert "'cc' was not found" in done.stderr and "apt-get install gcc" in done.stderr
