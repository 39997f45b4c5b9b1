"""`check` rules on real binaries built by gcc and on the system's own Python binaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.binary.checks import check_result, worst_severity
from packager.binary.inspect import inspect_paths
from packager.binary.model import InspectResult, LinkMode, Severity
from packager.python.interpreters import Interpreter
from tests.integration import cbuild


def checked(*paths: Path | str, expect: tuple[str, ...] = ()) -> InspectResult:
    result = inspect_paths([str(p) for p in paths], environ={}, jobs=1)
    assert not result.errors, result.errors
    return check_result(result, expect_modules=expect)


def codes(result: InspectResult) -> list[str]:
    return [f.code for report in result.binaries for f in report.findings]


def test_static_embed_without_export_dynamic_is_flagged(tmp_path: Path) -> None:
    binary = cbuild.static_embed(tmp_path / "noexport", export_dynamic=False)
    result = checked(binary)
    report = result.binaries[0]
    assert report.link_mode is LinkMode.STATIC
    assert report.libpython is None
    assert len(report.symbols.local) > 1000  # the interpreter is there, just hidden
    assert "PKG101" in codes(result)
    assert worst_severity(result) is Severity.ERROR


def test_static_embed_with_export_dynamic_passes(tmp_path: Path) -> None:
    binary = cbuild.static_embed(tmp_path / "export", export_dynamic=True)
    result = checked(binary)
    report = result.binaries[0]
    assert report.link_mode is LinkMode.STATIC
    assert len(report.symbols.exported) > 1000
    assert codes(result) == []


def test_debian_python_is_a_clean_static_embed() -> None:
    result = checked("/usr/bin/python3.11")
    report = result.binaries[0]
    assert report.link_mode is LinkMode.STATIC
    assert report.python_version is not None and report.python_version.startswith("3.11")
    assert codes(result) == []


def test_unresolved_libpython_is_flagged(tmp_path: Path) -> None:
    lib = cbuild.fake_library(tmp_path / "lib" / "libpython3.99.so", "libpython3.99.so.1.0")
    app = cbuild.gcc(
        tmp_path / "bin" / "app",
        {"app.c": "int fake_function(void); int main(void) { return fake_function(); }\n"},
        "-L",
        str(lib.parent),
        "-lpython3.99",
    )
    result = checked(app)
    report = result.binaries[0]
    assert report.link_mode is LinkMode.DYNAMIC
    assert report.libpython is not None and report.libpython.version == "3.99"
    assert report.libpython.resolved_path is None
    assert "PKG102" in codes(result)


def test_origin_rpath_resolves_libpython_and_is_clean(tmp_path: Path) -> None:
    lib = cbuild.fake_library(tmp_path / "lib" / "libpython3.99.so.1.0", "libpython3.99.so.1.0")
    (tmp_path / "lib" / "libpython3.99.so").symlink_to(lib.name)
    app = cbuild.gcc(
        tmp_path / "bin" / "app",
        {"app.c": "int fake_function(void); int main(void) { return fake_function(); }\n"},
        "-L",
        str(lib.parent),
        "-lpython3.99",
        "-Wl,-rpath,$ORIGIN/../lib",
    )
    result = checked(app)
    report = result.binaries[0]
    assert report.libpython is not None
    assert report.libpython.resolved_path == str(lib)
    assert codes(result) == []


@pytest.mark.parametrize(
    ("rpath", "code"),
    [("", "PKG104"), ("lib", "PKG104"), ("/opt/build-host/lib", "PKG105")],
)
def test_rpath_rules(tmp_path: Path, rpath: str, code: str) -> None:
    app = cbuild.gcc(
        tmp_path / "bin" / "app",
        {"app.c": "int main(void){return 0;}\n"},
        f"-Wl,-rpath,{rpath}:$ORIGIN/../lib",
    )
    result = checked(app)
    assert code in codes(result)
    assert [c for c in codes(result) if c not in (code,)] == []


def test_rpath_inside_own_tree_is_clean(tmp_path: Path) -> None:
    app = cbuild.gcc(
        tmp_path / "bin" / "app",
        {"app.c": "int main(void){return 0;}\n"},
        f"-Wl,-rpath,{tmp_path}/lib",
    )
    assert codes(checked(app)) == []


def test_extension_module_linking_libpython_is_flagged(
    tmp_path: Path, shared_cpython: Interpreter
) -> None:
    libdir, ldversion = str(shared_cpython.libdir), shared_cpython.ldversion
    linked = cbuild.python_extension(
        tmp_path / "linked.so",
        "linked",
        "-L",
        libdir,
        f"-lpython{ldversion}",
        f"-Wl,-rpath,{libdir}",
    )
    clean = cbuild.python_extension(tmp_path / "clean.so", "clean")
    result = checked(linked, clean)
    by_path = {Path(r.path).name: r for r in result.binaries}
    assert by_path["linked.so"].kind.value == "extension-module"
    assert "PKG106" in [f.code for f in by_path["linked.so"].findings]
    assert by_path["clean.so"].kind.value == "extension-module"
    assert by_path["clean.so"].link_mode is LinkMode.NONE
    assert by_path["clean.so"].findings == ()


def test_expect_module(tmp_path: Path) -> None:
    ext = cbuild.python_extension(tmp_path / "present.so", "present")
    assert codes(checked(ext, expect=("present",))) == []
    missing = checked(ext, expect=("present", "absent"))
    assert codes(missing) == ["PKG109"]
    assert "PyInit_absent" in missing.binaries[0].findings[0].message


def test_pe_and_macho_rules_on_real_cross_built_files(macho_pe_fixtures: Path) -> None:
    pe, macho = macho_pe_fixtures / "pe", macho_pe_fixtures / "macho"
    result = checked(
        pe / "alone" / "app.exe",
        pe / "bundled" / "app.exe",
        pe / "ext.pyd",
        macho / "norpath" / "app",
        macho / "withrpath" / "Contents" / "MacOS" / "app",
    )
    by_path = {
        str(Path(r.path).relative_to(macho_pe_fixtures)): [f.code for f in r.findings]
        for r in result.binaries
    }
    assert by_path["pe/alone/app.exe"] == ["PKG108"]
    assert by_path["pe/bundled/app.exe"] == []
    # A .pyd binds to the python DLL of the process that loads it: nothing to find beside it.
    assert by_path["pe/ext.pyd"] == []
    # Its @loader_path/../lib/libhelper.dylib is not laid out beside it either.
    assert by_path["macho/norpath/app"] == ["PKG107", "PKG103"]
    assert by_path["macho/withrpath/Contents/MacOS/app"] == []


def _with_load_alignment(source: Path, target: Path, align: int) -> int:
    """Copy the 64-bit ELF `source` to `target`, giving its last PT_LOAD alignment `align`;
    how many PT_LOAD segments then disagree with it (offset % align != vaddr % align)."""
    import struct

    data = bytearray(source.read_bytes())
    assert data[4] == 2, "a 64-bit ELF"
    phoff, phentsize, phnum = (
        struct.unpack_from("<Q", data, 0x20)[0],
        *struct.unpack_from("<HH", data, 0x36),
    )
    loads = [phoff + i * phentsize for i in range(phnum) if data[phoff + i * phentsize] == 1]
    struct.pack_into("<Q", data, loads[-1] + 0x30, align)
    offset, vaddr = struct.unpack_from("<QQ", data, loads[-1] + 0x08)
    target.write_bytes(bytes(data))
    return int(offset % align != vaddr % align)


def test_a_load_segment_misaligned_with_its_address_is_flagged(tmp_path: Path) -> None:
    source = Path("/usr/bin/true")
    broken = tmp_path / "true-64k"
    # A data segment placed for 4 KiB pages, declared as aligned to 64 KiB: what a file
    # rewritten by a tool unaware of the page size looks like.
    assert _with_load_alignment(source, broken, 0x10000) == 1
    assert "PKG113" in codes(checked(broken))
    assert "PKG113" not in codes(checked(source))
