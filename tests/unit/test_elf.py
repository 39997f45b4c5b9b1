"""The ELF reader on real binaries of the system and of the Pythons found, checked with
pyelftools."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from packager.binary import pyversion, read_binary
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary
from packager.python.interpreters import Interpreter
from packager.targets.machines import elf_machine_name
from tests.pythons import real_executable, sysconfig_of

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


# --- real binaries of the system and of the Pythons found --------------------------------


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


def test_python_links_its_libpython_through_an_absolute_runpath(
    linked_cpython: Interpreter,
) -> None:
    own = sysconfig_of(linked_cpython)
    parsed = parse_file(subject(real_executable(linked_cpython)))
    assert own["INSTSONAME"] in parsed.needed
    assert parsed.runpath is True
    assert parsed.rpaths == (own["LIBDIR"],)
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


def test_agrees_with_pyelftools_on_a_shared_libpython(shared_cpython: Interpreter) -> None:
    own = sysconfig_of(shared_cpython)
    libpython = Path(own["LIBDIR"]) / own["INSTSONAME"]
    # An unstripped libpython has a .symtab, so "local" is exercised too.
    assert ours(parse_file(subject(str(libpython)))) == reference(libpython)


def test_every_installed_libpython_reports_its_own_version(
    installed_libpython: Interpreter,
) -> None:
    # The interpreter says which release this is: 3.6 to 3.10 have no Py_Version symbol,
    # so pyenv's older versions also exercise the string heuristic.
    libpython = str(installed_libpython.shared_library)
    assert parse_file(libpython).embedded_python_version == installed_libpython.version


def test_machine_names() -> None:
    assert elf_machine_name(True, True, 62) == "x86_64"
    assert elf_machine_name(False, True, 3) == "i386"
    assert elf_machine_name(True, False, 21) == "ppc64"
    assert elf_machine_name(True, True, 21) == "ppc64le"
    assert elf_machine_name(False, True, 243) == "riscv32"
    assert elf_machine_name(True, True, 8) == "mips64el"
    assert elf_machine_name(True, True, 4242) == "unknown-4242"


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
