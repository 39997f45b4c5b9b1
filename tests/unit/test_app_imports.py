"""What the app's own Python imports (scripts, Python in the crate's Rust code), what
trimming keeps for it, and warnings for shipped packages that import a trimmed part."""

from __future__ import annotations

from pathlib import Path

from packager.bundle.app_imports import (
    AppImport,
    app_imports,
    keep_for_app,
    trimmed_imports_warnings,
)
from packager.bundle.stdlib import trim_rules
from packager.crate.python_code import crate_python_imports, unescape
from packager.python.source_imports import imported_modules


def test_imports_are_read_from_statements_anywhere_and_literal_dynamic_imports() -> None:
    source = (
        "import os, xml.dom as dom\n"
        "def f():\n    from tkinter import ttk\n"
        "try:\n    import turtle\nexcept ImportError:\n    pass\n"
        "from . import sibling\n"
        "importlib.import_module('sqlite3')\n__import__('json')\n"
        "print('import distutils')\n"
    )
    assert imported_modules(source) == (
        "os", "xml.dom", "tkinter", "turtle", "sqlite3", "json",
    )  # fmt: skip


def test_source_that_does_not_parse_is_read_line_by_line() -> None:
    source = "import tkinter\ndef broken(:\n    from lib2to3 import pytree\nx = 'no import'\n"
    assert imported_modules(source) == ("tkinter", "lib2to3")


def test_rust_escapes_are_undone() -> None:
    assert unescape(r"import a\nprint(\"b\")\tx\\y\x41\u{263A}") == 'import a\nprint("b")\tx\\yA☺'
    assert unescape("import a\\\n        , b") == "import a, b"


def _crate(tmp_path: Path, main: str, files: dict[str, str] | None = None) -> Path:
    (tmp_path / "src").mkdir(parents=True)
    (tmp_path / "src" / "main.rs").write_text(main)
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_python_in_a_crates_rust_code_is_read(tmp_path: Path) -> None:
    main = (
        '// py.run(c"import in_a_comment")\n'
        "fn main() {\n"
        '    let draw = include_str!("scripts/draw.py");\n'
        '    let json = py.import("json")?;\n'
        '    let dom = PyModule::import(py, "xml.dom")?;\n'
        '    py.run(c"import decimal\\nfrom lib2to3 import pytree", None, None)?;\n'
        '    py.run(cr#"\ndef f():\n    import sqlite3\n"#, None, None)?;\n'
        '    let message = "cannot import that";\n'
        "}\n"
    )
    crate = _crate(tmp_path, main, {"src/scripts/draw.py": "import turtle\n"})
    found = [(i.module, i.where) for i in crate_python_imports(str(crate))]
    assert found == [
        ("turtle", "src/scripts/draw.py"),
        ("json", "src/main.rs"),
        ("xml.dom", "src/main.rs"),
        ("decimal", "src/main.rs"),
        ("lib2to3", "src/main.rs"),
        ("sqlite3", "src/main.rs"),
    ]


def test_an_included_file_that_is_missing_or_not_a_file_is_passed_over(tmp_path: Path) -> None:
    main = 'const A: &str = include_str!("gone.py");\nconst B: &str = include_str!("dir");\n'
    crate = _crate(tmp_path, main)
    (crate / "src" / "dir").mkdir()
    assert crate_python_imports(str(crate)) == ()


def test_app_scripts_and_crate_code_are_both_read(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg" / "view.py").write_text("import tkinter.font as font\n")
    crate = _crate(tmp_path / "crate", 'fn main() { py.run(c"import turtle", None, None); }')
    found = app_imports(str(app), str(crate))
    assert found == (
        AppImport("tkinter.font", "app/pkg/view.py"),
        AppImport("turtle", "src/main.rs"),
    )


def test_each_trimmed_part_the_app_imports_is_kept_once_with_a_note() -> None:
    imports = [
        AppImport("turtle", "src/main.rs"),
        AppImport("tkinter.ttk", "app/main.py"),
        AppImport("json", "src/main.rs"),
        AppImport("lib2to3.pytree", "src/main.rs"),
        AppImport("distutils", "src/main.rs"),
    ]
    keep, notes = keep_for_app(("distutils",), imports)
    assert keep == ("distutils", "tkinter", "lib2to3")
    assert notes == [
        "tkinter kept: src/main.rs imports turtle",
        "lib2to3 kept: src/main.rs imports lib2to3.pytree",
    ]


def test_a_shipped_package_importing_a_trimmed_part_is_reported(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "numpy" / "distutils").mkdir(parents=True)
    (site / "numpy" / "distutils" / "core.py").write_text("from distutils.core import setup\n")
    (site / "numpy" / "distutils" / "misc.py").write_text("import distutils.util\n")
    (site / "numpy" / "tests").mkdir()
    (site / "numpy" / "tests" / "t.py").write_text("import distutils\n")
    (site / "quiet").mkdir()
    (site / "quiet" / "doc.py").write_text('"""Say: from distutils import x."""\n')
    rules, _kept = trim_rules(())
    assert trimmed_imports_warnings(str(site), rules) == [
        "trimmed but imported: numpy imports distutils (2 modules, e.g. "
        "numpy/distutils/core.py); --keep distutils ships it"
    ]


def test_a_kept_part_is_not_reported(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "a.py").write_text("import distutils\n")
    rules, _kept = trim_rules(("distutils",))
    assert trimmed_imports_warnings(str(site), rules) == []
