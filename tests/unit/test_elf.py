"""The ELF reader on real system binaries and on subjects built here, checked with pyelftools."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from packager.binary import elf, pyversion, read_binary
from packager.model import BinaryFormat, BinaryKind, ParsedBinary
from tests import cbuild

SYSTEM_PYTHON = "/usr/bin/python3.11"
SYSTEM_LIBPYTHON = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
GDB = "/usr/bin/gdb"
DECIMAL = "/usr/lib/python3.11/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"


def subject(path: str) -> str:
    if not os.path.exists(path):
        pytest.fail(f"{path} is not installed")
    return path


def parse_file(path: str | Path) -> ParsedBinary:
    binary_format, images = read_binary(str(path))
    assert binary_format is BinaryFormat.ELF
    assert len(images) == 1
    return images[0]


def running_python() -> str:
    """The running interpreter's own executable (the pyenv python in CI), not a shim."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return str(Path(sys.base_prefix) / "bin" / f"python{version}")


def system_python_version() -> str:
    completed = subprocess.run(
        [subject(SYSTEM_PYTHON), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def reference(path: str | Path) -> dict[str, Any]:
    """What pyelftools reads from the same file, shaped like ParsedBinary's fields."""
    with open(path, "rb") as handle:
        image = ELFFile(handle)
        tags: dict[str, Any] = {"DT_NEEDED": []}
        for section in image.iter_sections():
            if isinstance(section, DynamicSection):
                for tag in section.iter_tags():
                    if tag.entry.d_tag == "DT_NEEDED":
                        tags["DT_NEEDED"].append(tag.needed)
                    elif tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH", "DT_SONAME"):
                        tags[tag.entry.d_tag] = getattr(tag, tag.entry.d_tag[3:].lower())
        exported, needed, defined, pyinit = set(), set(), set(), set()
        for table in (".dynsym", ".symtab"):
            section = image.get_section_by_name(table)
            for symbol in section.iter_symbols() if section else ():
                name = symbol.name
                if not name.startswith(("Py", "_Py")):
                    continue
                if symbol["st_shndx"] == "SHN_UNDEF":
                    needed.update([name] if table == ".dynsym" else [])
                    continue
                defined.add(name)
                pyinit.update([name] if name.startswith("PyInit_") else [])
                binding = symbol["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK", "STB_GNU_UNIQUE")
                visible = symbol["st_other"]["visibility"] in ("STV_DEFAULT", "STV_PROTECTED")
                if table == ".dynsym" and binding and visible:
                    exported.add(name)
        glibc: tuple[int, ...] = ()
        for section in image.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _, auxiliaries in section.iter_versions():
                    for aux in auxiliaries:
                        if re.fullmatch(r"GLIBC_[0-9.]+", aux.name):
                            glibc = max(glibc, tuple(map(int, aux.name[6:].split("."))))
    rpath = tags.get("DT_RUNPATH", tags.get("DT_RPATH"))
    return {
        "needed": tuple(tags["DT_NEEDED"]),
        "rpaths": tuple(rpath.split(":")) if rpath is not None else (),
        "runpath": "DT_RUNPATH" in tags,
        "soname": tags.get("DT_SONAME"),
        "exported": tuple(sorted(exported)),
        "needed_symbols": tuple(sorted(needed)),
        "local": tuple(sorted(defined - exported)),
        "pyinit": tuple(sorted(pyinit)),
        "glibc_floor": ".".join(map(str, glibc)) or None,
    }


def ours(parsed: ParsedBinary) -> dict[str, Any]:
    return {
        "needed": parsed.needed,
        "rpaths": parsed.rpaths,
        "runpath": parsed.runpath,
        "soname": parsed.soname,
        "exported": parsed.symbols.exported,
        "needed_symbols": parsed.symbols.needed,
        "local": parsed.symbols.local,
        "pyinit": parsed.symbols.pyinit,
        "glibc_floor": parsed.glibc_floor,
    }


# --- Debian's and pyenv's real binaries ------------------------------------------------


def test_debian_python_is_a_static_embed_exporting_the_api() -> None:
    parsed = parse_file(subject(SYSTEM_PYTHON))
    assert parsed.arch == "x86_64"
    assert parsed.kind is BinaryKind.EXECUTABLE
    assert parsed.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert not any(name.startswith("libpython") for name in parsed.needed)
    assert "libc.so.6" in parsed.needed
    assert len(parsed.symbols.exported) > 1000
    assert {"Py_Initialize", "PyTuple_Type", "_Py_NoneStruct"} <= set(parsed.symbols.exported)
    assert parsed.symbols.needed == ()
    assert "PyInit__abc" in parsed.symbols.pyinit  # built-in modules of the static interpreter
    assert parsed.embedded_python_version == system_python_version()


def test_debian_libpython_carries_its_version_and_soname() -> None:
    parsed = parse_file(subject(SYSTEM_LIBPYTHON))
    assert parsed.kind is BinaryKind.SHARED_LIBRARY
    assert parsed.soname == "libpython3.11.so.1.0"
    assert parsed.interpreter is None
    assert "Py_InitializeFromConfig" in parsed.symbols.exported
    assert parsed.embedded_python_version == system_python_version()


def test_gdb_needs_libpython_from_the_system_path() -> None:
    parsed = parse_file(subject(GDB))
    assert "libpython3.11.so.1.0" in parsed.needed
    assert parsed.rpaths == ()
    assert parsed.runpath is False
    assert {"Py_InitializeFromConfig", "PyImport_ExtendInittab"} <= set(parsed.symbols.needed)
    assert parsed.symbols.exported == ()
    assert parsed.embedded_python_version is None  # it calls into libpython, it is not one


def test_running_python_links_its_libpython_through_an_absolute_runpath() -> None:
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        pytest.fail("the running Python is not an --enable-shared build")
    parsed = parse_file(subject(running_python()))
    ldlibrary = sysconfig.get_config_var("INSTSONAME")
    assert ldlibrary in parsed.needed
    assert parsed.runpath is True
    assert parsed.rpaths == (sysconfig.get_config_var("LIBDIR"),)
    assert parsed.kind is BinaryKind.EXECUTABLE  # a PIE: ET_DYN with PT_INTERP
    assert "Py_BytesMain" in parsed.symbols.needed
    assert parsed.embedded_python_version is None


def test_extension_module_defines_only_its_init_function() -> None:
    parsed = parse_file(subject(DECIMAL))
    assert parsed.kind is BinaryKind.SHARED_LIBRARY
    assert parsed.symbols.pyinit == ("PyInit__decimal",)
    assert parsed.symbols.exported == ("PyInit__decimal",)
    assert "PyLong_FromSsize_t" in parsed.symbols.needed
    assert parsed.embedded_python_version is None


def test_libc_with_an_interpreter_segment_is_still_a_library() -> None:
    parsed = parse_file(subject(LIBC))
    assert parsed.interpreter is not None  # libc.so.6 can be run, so it has PT_INTERP
    assert parsed.kind is BinaryKind.SHARED_LIBRARY
    assert parsed.soname == "libc.so.6"


def test_glibc_floor_compares_versions_numerically() -> None:
    parsed = parse_file(subject(SYSTEM_PYTHON))
    assert parsed.glibc_floor is not None
    floor = tuple(map(int, parsed.glibc_floor.split(".")))
    # python3.11 on Debian 12 needs symbols from GLIBC_2.34+, which sorts below 2.4 as text.
    assert floor >= (2, 34)


def test_symbol_tuples_are_sorted_and_unique() -> None:
    symbols = parse_file(subject(SYSTEM_LIBPYTHON)).symbols
    for names in (symbols.exported, symbols.needed, symbols.local, symbols.pyinit):
        assert list(names) == sorted(set(names))


CROSS_CHECKED = [
    SYSTEM_PYTHON,
    SYSTEM_LIBPYTHON,
    GDB,
    DECIMAL,
    LIBC,
    "/usr/bin/readelf",
    "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
]


@pytest.mark.parametrize("path", CROSS_CHECKED)
def test_agrees_with_pyelftools(path: str) -> None:
    assert ours(parse_file(subject(path))) == reference(path)


def test_agrees_with_pyelftools_on_the_running_pythons_libpython() -> None:
    libpython = Path(str(sysconfig.get_config_var("LIBDIR"))) / str(
        sysconfig.get_config_var("INSTSONAME")
    )
    # An unstripped libpython has a .symtab, so "local" is exercised too.
    assert ours(parse_file(subject(str(libpython)))) == reference(libpython)


@pytest.mark.parametrize(
    "libpython", sorted(glob.glob("/root/.pyenv/versions/3.*/lib/libpython3.*.so.1.0"))
)
def test_every_installed_libpython_reports_its_own_version(libpython: str) -> None:
    # The directory says which release this is: 3.6 to 3.10 have no Py_Version symbol, so
    # this also exercises the string heuristic.
    version = libpython.split("/versions/")[1].split("/")[0]
    assert parse_file(libpython).embedded_python_version == version


# --- subjects built here -----------------------------------------------------------------


def _embed_against_running_python(out: Path, *flags: str) -> Path:
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        pytest.fail("the running Python has no shared libpython")
    include = sysconfig.get_paths()["include"]
    libdir = str(sysconfig.get_config_var("LIBDIR"))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return cbuild.gcc(
        out,
        {"embed.c": cbuild.EMBED_MAIN},
        "-I",
        include,
        "-L",
        libdir,
        f"-lpython{version}",
        *flags,
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    ("dtags", "runpath"), [("--enable-new-dtags", True), ("--disable-new-dtags", False)]
)
def test_origin_rpath_as_runpath_or_rpath(tmp_path: Path, dtags: str, runpath: bool) -> None:
    app = _embed_against_running_python(
        tmp_path / "bin" / "app", "-Wl,-rpath,$ORIGIN/../lib", f"-Wl,{dtags}"
    )
    parsed = parse_file(app)
    assert parsed.rpaths == ("$ORIGIN/../lib",)
    assert parsed.runpath is runpath
    assert parsed.needed[0] == sysconfig.get_config_var("INSTSONAME")
    assert "Py_Initialize" in parsed.symbols.needed
    assert ours(parsed) == reference(app)


@pytest.mark.integration
def test_empty_rpath_entries_are_kept(tmp_path: Path) -> None:
    app = cbuild.gcc(
        tmp_path / "app", {"main.c": "int main(void) { return 0; }\n"}, "-Wl,-rpath,/opt/a::/opt/b:"
    )
    # An empty entry means the current directory to ld.so: it must reach the checks.
    assert parse_file(app).rpaths == ("/opt/a", "", "/opt/b", "")


@pytest.mark.integration
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


@pytest.mark.integration
def test_pyinit_in_symtab_only_is_local(tmp_path: Path) -> None:
    app = cbuild.gcc(
        tmp_path / "app",
        {"main.c": "void *PyInit_mymod(void) { return 0; }\nint main(void) { return 0; }\n"},
    )
    parsed = parse_file(app)
    assert parsed.symbols.pyinit == ("PyInit_mymod",)
    assert parsed.symbols.local == ("PyInit_mymod",)
    assert parsed.symbols.exported == ()


@pytest.mark.integration
@pytest.mark.parametrize("export_dynamic", [True, False])
def test_static_embed_reports_the_version_it_carries(tmp_path: Path, export_dynamic: bool) -> None:
    subject(cbuild.DEBIAN_PIC_ARCHIVE)
    app = cbuild.static_embed(tmp_path / "app", export_dynamic=export_dynamic)
    parsed = parse_file(app)
    assert parsed.embedded_python_version == system_python_version()
    assert ("Py_Initialize" in parsed.symbols.exported) is export_dynamic
    assert ("Py_Initialize" in parsed.symbols.local) is not export_dynamic


@pytest.mark.integration
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


@pytest.mark.integration
@pytest.mark.parametrize(("target", "arch"), sorted(CROSS_TARGETS.items()))
def test_other_classes_and_byte_orders(tmp_path: Path, target: str, arch: str) -> None:
    if shutil.which("clang") is None:
        pytest.fail("clang is not installed")
    source = tmp_path / "o.c"
    source.write_text(
        CROSS_SOURCE + "extern int PyNeeded(int);\nint use(void) { return PyNeeded(1); }\n"
    )
    obj = tmp_path / "o.o"
    subprocess.run(["clang", f"--target={target}", "-c", str(source), "-o", str(obj)], check=True)
    parsed = parse_file(obj)
    assert (parsed.arch, parsed.kind) == (arch, BinaryKind.OBJECT)
    assert parsed.symbols.local == ("PyFoo_Bar", "PyInit_thing")
    assert ours(parsed) == reference(obj)
    if shutil.which("ld.lld") is None or target.startswith("s390x"):
        return  # lld cannot link s390x
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


def test_machine_names() -> None:
    assert elf.machine_name(True, True, 62) == "x86_64"
    assert elf.machine_name(False, True, 3) == "i386"
    assert elf.machine_name(True, False, 21) == "ppc64"
    assert elf.machine_name(True, True, 21) == "ppc64le"
    assert elf.machine_name(False, True, 243) == "riscv32"
    assert elf.machine_name(True, True, 8) == "mips64el"
    assert elf.machine_name(True, True, 4242) == "unknown-4242"


# --- the version helper shared with the Mach-O and PE readers ------------------------------


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        (0x030B02F0, "3.11.2"),
        (0x030D00C1, "3.13.0rc1"),
        (0x030C00A2, "3.12.0a2"),
        (0x030E00B3, "3.14.0b3"),
        (0x020718F0, None),  # Python 2 cannot be embedded by PyO3
        (0x030B0290, None),  # 9 is not a release level
        (0x1030B02F0, None),  # bits above PY_VERSION_HEX: not a version
    ],
)
def test_version_from_hex(value: int, spelled: str | None) -> None:
    assert pyversion.version_from_hex(value) == spelled


def test_version_string_needs_the_matching_cache_tag() -> None:
    data = b"\0SQLite 3.40.1\x003.2.0\0cpython-311\0/opt/python/3.11.7\0Python-3.11.7\0"
    assert pyversion.find_version_string(data) == "3.11.7"
    assert pyversion.find_version_string(data.replace(b"cpython-311", b"cpython-312")) is None
    assert pyversion.find_version_string(data.replace(b"cpython-311", b"")) is None


def test_version_string_refuses_to_guess_between_two_candidates() -> None:
    assert pyversion.find_version_string(b"\0cpython-311\x003.11.2\x003.11.9\0") is None


def test_version_string_search_stays_inside_the_span() -> None:
    data = b"\0cpython-311\x003.11.2\0" + b"x" * 64
    assert pyversion.find_version_string(data, (0, len(data))) == "3.11.2"
    assert pyversion.find_version_string(data, (20, 64)) is None
    assert pyversion.find_version_string(data, (-5, 10**9)) == "3.11.2"  # clamped, no error


def test_interpreter_markers_need_both_strings() -> None:
    assert pyversion.has_interpreter_markers(b"Fatal Python error: \0PYTHONMALLOC\0")
    assert not pyversion.has_interpreter_markers(b"Fatal Python error: \0")  # e.g. PyPy
