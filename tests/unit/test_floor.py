"""The glibc floor rules: version order, the allowlist, and the findings over reports."""

from __future__ import annotations

import pytest

from packager.binary.floor import floor_findings, highest, is_allowed, own_tree, parse_floor
from packager.binary.model import (
    BinaryFormat,
    BinaryKind,
    BinaryReport,
    LinkMode,
    NeededLibrary,
    PythonSymbolTable,
)
from packager.core.errors import UsageError


def report(
    path: str,
    floor: str | None,
    needed: tuple[NeededLibrary, ...] = (),
    fmt: BinaryFormat = BinaryFormat.ELF,
) -> BinaryReport:
    return BinaryReport(
        path=path,
        format=fmt,
        arch="x86_64",
        kind=BinaryKind.EXECUTABLE,
        link_mode=LinkMode.STATIC,
        python_version="3.11.7",
        libpython=None,
        rpaths=(),
        runpath=False,
        needed=needed,
        symbols=PythonSymbolTable(),
        glibc_floor=floor,
    )


def test_versions_compare_numerically() -> None:
    assert highest(["2.9", "2.17", None, "2.3.4"]) == "2.17"
    assert highest([None]) is None


@pytest.mark.parametrize("text", ["2", "2.x", "v2.17", "2.17.", " 2.17", ""])
def test_a_floor_must_be_major_minor(text: str) -> None:
    with pytest.raises(UsageError, match="not a glibc version"):
        parse_floor(text)


def test_the_allowlist_holds_glibc_gcc_and_the_loader_only() -> None:
    for name in ("libc.so.6", "libm.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld64.so.2"):
        assert is_allowed(name), name
    for name in ("libssl.so.3", "libexpat.so.1", "libpython3.11.so.1.0", "libX11.so.6", "libc.so"):
        assert not is_allowed(name), name


def test_a_symbol_version_above_the_floor_is_named() -> None:
    findings = list(floor_findings(report("/t/bin/app", "2.34"), "2.31", "/t"))
    assert [f.code for f in findings] == ["PKG111"]
    assert "GLIBC_2.34" in findings[0].message and "2.31" in findings[0].message
    assert not list(floor_findings(report("/t/bin/app", "2.31"), "2.31", "/t"))
    assert not list(floor_findings(report("/t/bin/app", "2.17"), "2.31", "/t"))


def test_a_library_outside_the_allowlist_must_ship_in_the_tree() -> None:
    needed = (
        NeededLibrary("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
        NeededLibrary("libssl.so.3", "/lib/x86_64-linux-gnu/libssl.so.3"),
        NeededLibrary("libffi.so.8", "/t/lib/libffi.so.8"),
        NeededLibrary("libgone.so.1", None),
    )
    findings = list(floor_findings(report("/t/bin/app", None, needed), "2.17", "/t"))
    assert [(f.code, f.message.split(",")[0]) for f in findings] == [
        ("PKG112", "needs libssl.so.3"),
        ("PKG112", "needs libgone.so.1"),
    ]


def test_other_formats_have_no_glibc_floor() -> None:
    pe = report("/t/app.exe", "2.99", (NeededLibrary("KERNEL32.dll", None),), BinaryFormat.PE)
    assert not list(floor_findings(pe, "2.17", "/t"))


def test_a_files_tree_is_the_root_given_or_its_parents_parent() -> None:
    assert own_tree("/dist/app/lib/python3.11/lib-dynload/x.so", ["/other", "/dist/app"]) == (
        "/dist/app"
    )
    assert own_tree("/opt/app/bin/app") == "/opt/app"
