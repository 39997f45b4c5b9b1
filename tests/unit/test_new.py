"""`packager new` lays out a crate and refuses bad names (tests/integration builds and runs it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from packager.core.errors import OutputExistsError, UsageError
from packager.crate.inittab import INITTAB_FILE, find_modules, render_inittab
from packager.crate.scaffold import new_crate
from tests.helpers import run_packager


def packager_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_packager(*args, cwd=cwd, timeout=60)


def test_new_lays_out_the_crate(tmp_path: Path) -> None:
    crate = new_crate(tmp_path / "demo-app", "demo-app", ("fastmath", "textutil"))
    files = sorted(str(p.relative_to(crate)) for p in crate.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "Cargo.toml",
        "app/main.py",
        "src/fastmath.rs",
        "src/main.rs",
        f"src/{INITTAB_FILE}",
        "src/textutil.rs",
    ]
    assert 'name = "demo-app"' in (crate / "Cargo.toml").read_text()
    assert 'pyo3 = { version = "0.29" }' in (crate / "Cargo.toml").read_text()
    main_rs = (crate / "src" / "main.rs").read_text()
    assert "mod fastmath;\nmod textutil;\n" in main_rs
    assert "{{" not in main_rs + (crate / "app" / "main.py").read_text()
    assert (crate / "src" / INITTAB_FILE).read_text() == render_inittab(find_modules(crate))
    assert [m.python_name for m in find_modules(crate)] == ["fastmath", "textutil"]
    assert list(tmp_path.iterdir()) == [crate]
    assert crate.stat().st_mode & 0o777 == 0o755


def test_new_defaults_to_one_module_named_after_the_crate(tmp_path: Path) -> None:
    crate = new_crate(tmp_path / "my-app", "my-app")
    assert [m.python_name for m in find_modules(crate)] == ["my_app_native"]


def test_new_refuses_an_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        new_crate(tmp_path / "demo", "demo")
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("name", "modules", "message"),
    [
        ("1app", (), "not a valid crate name"),
        ("fn", (), "not a valid crate name"),
        ("app", ("json",), "would shadow a standard-library module"),
        ("app", ("sys",), "would shadow a built-in module"),
        ("app", ("not-ident",), "not a valid Python module name"),
        ("app", ("class",), "not a valid Python module name"),
        ("app", ("match",), "cannot name a Rust module"),
        ("app", ("dup", "dup"), "given more than once"),
        ("app", ("main",), "taken by the generated crate"),
        ("app", ("packager_runtime",), "taken by the generated crate"),
        ("app", ("pyo3",), "taken by the generated crate"),
    ],
)
def test_new_rejects_bad_names_and_leaves_nothing(
    tmp_path: Path, name: str, modules: tuple[str, ...], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        new_crate(tmp_path / "crate", name, modules)
    assert list(tmp_path.iterdir()) == []


def test_reserved_names_can_come_from_the_target_interpreter(tmp_path: Path) -> None:
    crate = new_crate(tmp_path / "a", "a", ("json",), reserved={"tomllib": "a stdlib module"})
    assert (crate / "src" / "json.rs").is_file()
    with pytest.raises(UsageError, match="would shadow a stdlib module"):
        new_crate(tmp_path / "b", "b", ("tomllib",), reserved={"tomllib": "a stdlib module"})


def test_cli_reports_what_it_created_and_refuses_to_overwrite(tmp_path: Path) -> None:
    created = packager_cli("new", "demo", "--module", "fastmath", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "Created crate 'demo' in demo" in created.stdout
    assert "  src/fastmath.rs" in created.stdout
    assert "packager build demo" in created.stdout
    again = packager_cli("new", "demo", cwd=tmp_path)
    assert again.returncode == 2
    assert "demo: already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_cli_help_shows_examples(tmp_path: Path) -> None:
    shown = packager_cli("new", "--help", cwd=tmp_path)
    assert shown.returncode == 0
    assert "packager new myapp --module fastmath" in shown.stdout
