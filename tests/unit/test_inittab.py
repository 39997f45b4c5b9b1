"""Finding #[pymodule]s in Rust source, checking their names, generating the inittab."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packager.core.errors import UnreadableInputError, UsageError
from packager.crate.inittab import (
    INITTAB_FILE,
    PyModuleDecl,
    check_names,
    find_modules,
    parse_modules,
    render_inittab,
    reserved_names,
    write_inittab,
)
from packager.crate.rust_source import TokenKind, tokenize
from tests.helpers import SAMPLES

RESERVED = reserved_names(("sys", "_io"), ("json", "os", "sys"))


def names(source: str, module_path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [
        (found.python_name, found.rust_path) for found in parse_modules(source, module_path, "x.rs")
    ]


def make_crate(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_function_form() -> None:
    source = "use pyo3::prelude::*;\n\n#[pymodule]\npub fn fast(m: &Bound<'_, PyModule>) {}\n"
    [found] = parse_modules(source, (), "src/main.rs")
    assert (found.python_name, found.rust_path, found.line) == ("fast", "crate::fast", 4)


def test_inline_module_form() -> None:
    assert names("#[pymodule]\npub mod text { fn f() {} }", ("util",)) == [
        ("text", "crate::util::text")
    ]


def test_qualified_attribute_and_extern_qualifiers() -> None:
    source = '#[pyo3::pymodule]\npub(crate) unsafe extern "C" fn raw(m: &M) {}'
    assert names(source) == [("raw", "crate::raw")]


def test_rename_as_separate_attribute() -> None:
    source = '#[pymodule]\n#[pyo3(name = "fastmath")]\npub fn fast_impl(m: &M) {}'
    assert names(source) == [("fastmath", "crate::fast_impl")]


def test_rename_inside_pymodule_arguments() -> None:
    source = '#[pymodule(gil_used = false, name = "textutil")]\npub mod text_impl {}'
    assert names(source) == [("textutil", "crate::text_impl")]


def test_name_is_only_taken_from_a_name_argument() -> None:
    source = '#[pymodule(module = "pkg", name = "real")]\npub mod m {}'
    assert names(source) == [("real", "crate::m")]


def test_nested_inline_modules_give_the_rust_path() -> None:
    source = "pub mod outer { pub mod inner {\n#[pymodule]\npub fn deep(m: &M) {} } }"
    assert names(source, ("a",)) == [("deep", "crate::a::outer::inner::deep")]


def test_submodules_of_a_pymodule_are_not_registered() -> None:
    source = """
    #[pymodule]
    pub mod parent {
        #[pymodule]
        pub mod child {}
        #[pymodule(submodule)]
        pub fn other(m: &M) {}
    }
    #[pymodule(submodule)]
    pub mod detached {}
    """
    assert names(source) == [("parent", "crate::parent")]


def test_comments_and_strings_are_ignored() -> None:
    source = r"""
    // #[pymodule] fn in_line_comment() {}
    /* #[pymodule] fn in_block /* nested */ #[pymodule] fn still_comment() {} */
    const A: &str = "#[pymodule] fn in_string() {} \" #[pymodule] fn escaped() {}";
    const B: &str = r#"#[pymodule] fn in_raw_string() {} "# ;
    const C: char = '"';
    /// #[pymodule] fn in_doc_comment() {}
    #[pymodule]
    pub fn real(m: &M) {}
    """
    assert names(source) == [("real", "crate::real")]


def test_items_inside_functions_impls_and_test_modules_are_skipped() -> None:
    source = """
    fn helper() { #[pymodule] fn local(m: &M) {} }
    impl Thing { #[pymodule] pub fn method(m: &M) {} }
    #[cfg(test)]
    mod tests { #[pymodule] pub fn fixture(m: &M) {} }
    #[pymodule]
    pub fn after(m: &M) {}
    """
    assert names(source) == [("after", "crate::after")]


def test_lifetimes_and_char_literals_do_not_confuse_the_tokenizer() -> None:
    tokens = tokenize("fn f<'a>(x: &'a str) -> char { 'x' } b'\\n' \"s\"")
    kinds = [(token.kind, token.text) for token in tokens if token.kind is not TokenKind.PUNCT]
    assert (TokenKind.OTHER, "'a") in kinds
    assert (TokenKind.OTHER, "'x'") in kinds
    assert (TokenKind.OTHER, "'\\n'") in kinds
    assert (TokenKind.STRING, "s") in kinds


def test_line_numbers_count_multiline_comments_and_strings() -> None:
    source = '/* one\ntwo */\nconst S: &str = "a\nb";\n#[pymodule]\npub fn m(x: &M) {}\n'
    [found] = parse_modules(source, (), "src/main.rs")
    assert found.line == 6


@pytest.mark.parametrize(
    ("visibility", "module_path", "reachable"),
    [
        ("", (), True),  # the crate root's private items are visible to its whole crate
        ("", ("native",), False),
        ("pub(super) ", ("native",), True),
        ("pub(super) ", ("a", "b"), False),
        ("pub(crate) ", ("a", "b"), True),
        ("pub(self) ", ("native",), False),
    ],
)
def test_reachability_from_the_crate_root(
    visibility: str, module_path: tuple[str, ...], reachable: bool
) -> None:
    [found] = parse_modules(f"#[pymodule]\n{visibility}fn m(x: &M) {{}}", module_path, "f.rs")
    assert found.reachable is reachable


def test_find_modules_maps_files_to_module_paths(tmp_path: Path) -> None:
    crate = make_crate(
        tmp_path,
        {
            "src/main.rs": "mod native;\nmod tools;\n#[pymodule]\nfn root_mod(m: &M) {}\n",
            "src/native.rs": "#[pymodule]\npub mod fast {}\n",
            "src/tools/mod.rs": "pub mod text;\n",
            "src/tools/text.rs": '#[pymodule]\n#[pyo3(name = "textutil")]\npub fn text(m: &M) {}',
            "src/bin/other.rs": "#[pymodule]\npub fn other_binary(m: &M) {}\n",
            f"src/{INITTAB_FILE}": "// #[pymodule] fn never() {}\n",
        },
    )
    found = find_modules(crate)
    assert [(m.python_name, m.rust_path, m.location) for m in found] == [
        ("root_mod", "crate::root_mod", "src/main.rs:4"),
        ("fast", "crate::native::fast", "src/native.rs:2"),
        ("textutil", "crate::tools::text::text", "src/tools/text.rs:3"),
    ]


def test_find_modules_needs_a_src_directory(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="no src/"):
        find_modules(tmp_path)


def decl(name: str, path: str, line: int, reachable: bool = True) -> PyModuleDecl:
    return PyModuleDecl(name, path, "src/lib.rs", line, reachable)


def test_collision_with_a_standard_library_module() -> None:
    with pytest.raises(UsageError, match="'json', which is already a standard-library module"):
        check_names([decl("json", "crate::json", 3)], RESERVED)


def test_collision_with_a_built_in_module_names_the_item() -> None:
    with pytest.raises(UsageError) as caught:
        check_names([decl("_io", "crate::my_io", 7)], RESERVED)
    assert "a built-in module" in str(caught.value)
    assert "src/lib.rs:7" in str(caught.value)


def test_collision_between_two_modules_names_both_locations() -> None:
    modules = [decl("fast", "crate::a::fast", 3), decl("fast", "crate::b::fast", 9)]
    with pytest.raises(UsageError) as caught:
        check_names(modules, RESERVED)
    message = str(caught.value)
    assert "crate::a::fast" in message and "crate::b::fast" in message
    assert "src/lib.rs:3" in message and "src/lib.rs:9" in message


def test_private_module_error_says_how_to_fix_it() -> None:
    with pytest.raises(UsageError) as caught:
        check_names([decl("fast", "crate::native::fast", 3, reachable=False)], RESERVED)
    assert "private" in caught.value.message
    assert caught.value.fix is not None and "pub" in caught.value.fix


def test_distinct_free_names_pass() -> None:
    check_names([decl("fast", "crate::fast", 1), decl("text", "crate::text", 2)], RESERVED)


def test_render_registers_each_module_through_an_alias() -> None:
    text = render_inittab([decl("fast", "crate::a::fast", 3), decl("text", "crate::b::t", 4)])
    assert text.startswith("// Generated by `packager build`: do not edit.")
    assert "pub fn register() {" in text
    assert text.index("use crate::a::fast as module;") < text.index("use crate::b::t as module;")
    assert text.count("pyo3::append_to_inittab!(module);") == 2


def test_write_inittab_only_writes_changed_content(tmp_path: Path) -> None:
    crate = make_crate(tmp_path, {"src/main.rs": ""})
    modules = [decl("fast", "crate::fast", 1)]
    assert write_inittab(crate, modules) is True
    target = crate / "src" / INITTAB_FILE
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    assert write_inittab(crate, modules) is False
    assert target.stat().st_mtime_ns == 1_000_000_000
    assert write_inittab(crate, [*modules, decl("text", "crate::text", 2)]) is True
    assert "crate::text" in target.read_text()
    assert sorted(path.name for path in target.parent.iterdir()) == ["main.rs", INITTAB_FILE]


@pytest.mark.parametrize("sample", ["hello", "extmods"])
def test_committed_sample_inittab_is_current(sample: str) -> None:
    crate = SAMPLES / sample
    committed = (crate / "src" / INITTAB_FILE).read_text()
    assert committed == render_inittab(find_modules(crate))
