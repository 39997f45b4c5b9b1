"""The ELF reader on subjects compiled and linked here, checked with pyelftools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from packager.binary.model import BinaryKind
from packager.python.interpreters import Interpreter
from tests.integration import cbuild
from tests.pythons import sysconfig_of
from tests.unit.test_elf import ours, parse_file, reference, subject, system_python_version


def _embed_against(python: Interpreter, out: Path, *flags: str) -> Path:
    own = sysconfig_of(python)
    return cbuild.gcc(
        out,
        {"embed.c": cbuild.EMBED_MAIN},
        "-I",
        own["include"],
        "-L",
        own["LIBDIR"],
        f"-lpython{own['LDVERSION']}",
        *flags,
    )


@pytest.mark.parametrize(
    ("dtags", "runpath"), [("--enable-new-dtags", True), ("--disable-new-dtags", False)]
)
def test_origin_rpath_as_runpath_or_rpath(
    tmp_path: Path, dtags: str, runpath: bool, shared_cpython: Interpreter
) -> None:
    app = _embed_against(
        shared_cpython, tmp_path / "bin" / "app", "-Wl,-rpath,$ORIGIN/../lib", f"-Wl,{dtags}"
    )
    parsed = parse_file(app)
    assert parsed.rpaths == ("$ORIGIN/../lib",)
    assert parsed.runpath is runpath
    assert parsed.needed[0] == shared_cpython.instsoname
    assert "Py_Initialize" in parsed.symbols.needed
    assert ours(parsed) == reference(app)


def test_empty_rpath_entries_are_kept(tmp_path: Path) -> None:
    app = cbuild.gcc(
        tmp_path / "app", {"main.c": "int main(void) { return 0; }\n"}, "-Wl,-rpath,/opt/a::/opt/b:"
    )
    # An empty entry means the current directory to ld.so: it must reach the checks.
    assert parse_file(app).rpaths == ("/opt/a", "", "/opt/b", "")


def test_runpath_wins_over_rpath_when_both_are_present(tmp_path: Path) -> None:
    app = cbuild.gcc(
        tmp_path / "app",
        {"main.c": "int main(void) { return 0; }\n"},
        "-Wl,--disable-new-dtags",
        "-Wl,-rpath,/opt/rpath-only:/opt/both",
    )
    data = bytearray(app.read_bytes())
    _retag_debug_as_runpath(data, app, suffix_of_rpath=len("/opt/rpath-only:"))
    app.write_bytes(bytes(data))
    parsed = parse_file(app)
    assert parsed.runpath is True
    assert parsed.rpaths == ("/opt/both",)
    assert ours(parsed) == reference(app)


def _retag_debug_as_runpath(data: bytearray, path: Path, suffix_of_rpath: int) -> None:
    """Turn DT_DEBUG into a DT_RUNPATH naming the tail of the DT_RPATH string."""
    with open(path, "rb") as handle:
        dynamic = ELFFile(handle).get_section_by_name(".dynamic")
        offset = dynamic["sh_offset"]
        entries = [(tag.entry.d_tag, tag.entry.d_val) for tag in dynamic.iter_tags()]
    rpath_value = next(value for tag, value in entries if tag == "DT_RPATH")
    debug_index = next(i for i, (tag, _) in enumerate(entries) if tag == "DT_DEBUG")
    entry = offset + debug_index * 16
    data[entry : entry + 16] = (29).to_bytes(8, "little") + (
        rpath_value + suffix_of_rpath
    ).to_bytes(8, "little")


def test_pyinit_in_symtab_only_is_local(tmp_path: Path) -> None:
    app = cbuild.gcc(
        tmp_path / "app",
        {"main.c": "void *PyInit_mymod(void) { return 0; }\nint main(void) { return 0; }\n"},
    )
    parsed = parse_file(app)
    assert parsed.symbols.pyinit == ("PyInit_mymod",)
    assert parsed.symbols.local == ("PyInit_mymod",)
    assert parsed.symbols.exported == ()


@pytest.mark.parametrize("export_dynamic", [True, False])
def test_static_embed_reports_the_version_it_carries(tmp_path: Path, export_dynamic: bool) -> None:
    subject(cbuild.DEBIAN_PIC_ARCHIVE)
    app = cbuild.static_embed(tmp_path / "app", export_dynamic=export_dynamic)
    parsed = parse_file(app)
    assert parsed.embedded_python_version == system_python_version()
    assert ("Py_Initialize" in parsed.symbols.exported) is export_dynamic
    assert ("Py_Initialize" in parsed.symbols.local) is not export_dynamic


def test_stripped_static_embed_is_recognised_by_its_strings(tmp_path: Path) -> None:
    subject(cbuild.DEBIAN_PIC_ARCHIVE)
    app = cbuild.static_embed(tmp_path / "app", export_dynamic=False)
    subprocess.run(["strip", "--strip-all", str(app)], check=True)
    parsed = parse_file(app)
    assert parsed.symbols == type(parsed.symbols)()  # nothing left to go by but the data
    assert parsed.embedded_python_version == system_python_version()


CROSS_TARGETS = {
    "i386-linux-gnu": "i386",
    "armv7-linux-gnueabihf": "arm",
    "aarch64-linux-gnu": "aarch64",
    "powerpc64-linux-gnu": "ppc64",
    "powerpc64le-linux-gnu": "ppc64le",
    "riscv64-linux-gnu": "riscv64",
    "mips-linux-gnu": "mips",
    "s390x-linux-gnu": "s390x",
}
CROSS_SOURCE = "int PyFoo_Bar(int x) { return x + 1; }\nint PyInit_thing(void) { return 0; }\n"


def _cross_source(tmp_path: Path) -> Path:
    if shutil.which("clang") is None:
        pytest.fail("clang is not installed")
    source = tmp_path / "o.c"
    source.write_text(
        CROSS_SOURCE + "extern int PyNeeded(int);\nint use(void) { return PyNeeded(1); }\n"
    )
    return source


@pytest.mark.parametrize(("target", "arch"), sorted(CROSS_TARGETS.items()))
def test_other_classes_and_byte_orders(tmp_path: Path, target: str, arch: str) -> None:
    source = _cross_source(tmp_path)
    obj = tmp_path / "o.o"
    subprocess.run(["clang", f"--target={target}", "-c", str(source), "-o", str(obj)], check=True)
    parsed = parse_file(obj)
    assert (parsed.arch, parsed.kind) == (arch, BinaryKind.OBJECT)
    assert parsed.symbols.local == ("PyFoo_Bar", "PyInit_thing")
    assert ours(parsed) == reference(obj)


# lld cannot link s390x.
@pytest.mark.parametrize(
    ("target", "arch"), sorted(t for t in CROSS_TARGETS.items() if not t[0].startswith("s390x"))
)
def test_shared_libraries_of_other_classes_and_byte_orders(
    tmp_path: Path, target: str, arch: str
) -> None:
    source = _cross_source(tmp_path)
    if shutil.which("ld.lld") is None:
        pytest.fail("ld.lld is not installed (Debian: apt-get install lld)")
    library = tmp_path / "libo.so"
    link = ["clang", f"--target={target}", "-shared", "-nostdlib", "-fuse-ld=lld"]
    subprocess.run([*link, "-Wl,-soname,libo.so.1", str(source), "-o", str(library)], check=True)
    parsed = parse_file(library)
    assert (parsed.arch, parsed.kind, parsed.soname) == (
        arch,
        BinaryKind.SHARED_LIBRARY,
        "libo.so.1",
    )
    assert parsed.symbols.exported == ("PyFoo_Bar", "PyInit_thing")
    assert parsed.symbols.needed == ("PyNeeded",)
    assert ours(parsed) == reference(library)
