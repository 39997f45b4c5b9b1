"""Static archive diagnosis on archives built here with gcc, clang and ar."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packager.binary.staticlib import describe, diagnose_archive
from packager.core.errors import UnreadableInputError
from tests.unit.test_staticlib import _debian

# Taking addresses forces absolute relocations in non-PIC code (R_X86_64_32/32S).
_SOURCE = """\
int counter = 1;
static int table[4] = {1, 2, 3, 4};
int *address_of_counter(void) { return &counter; }
int lookup(int i) { return table[i]; }
"""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed")
    return found


def _compile(tmp: Path, name: str, *flags: str, compiler: str = "gcc") -> Path:
    source = tmp / f"{name}.c"
    source.write_text(_SOURCE.replace("counter", f"counter_{name.replace('-', '_')}"))
    output = tmp / f"{name}.o"
    subprocess.run(
        [_tool(compiler), "-c", "-O1", *flags, str(source), "-o", str(output)], check=True
    )
    return output


def _archive(path: Path, *objects: Path, thin: bool = False) -> Path:
    subprocess.run(
        [_tool("ar"), "rcsT" if thin else "rcs", str(path), *map(str, objects)], check=True
    )
    return path


def test_gcc_archives_pic_and_not(tmp_path: Path) -> None:
    pic = _archive(tmp_path / "libpic.a", _compile(tmp_path, "pic", "-fPIC"))
    nopic = _archive(tmp_path / "libnopic.a", _compile(tmp_path, "nopic", "-fno-pic"))
    assert diagnose_archive(pic).pic is True
    diagnosis = diagnose_archive(nopic)
    assert diagnosis.pic is False
    assert diagnosis.non_pic_members == ("nopic.o",)
    assert diagnosis.non_pic_relocations >= 2


def test_debug_info_relocations_do_not_count_as_non_pic(tmp_path: Path) -> None:
    # DWARF sections carry R_X86_64_32 relocations even in PIC objects.
    obj = _compile(tmp_path, "debug", "-fPIC", "-g")
    relocs = subprocess.run(["readelf", "-r", str(obj)], capture_output=True, text=True).stdout
    assert "R_X86_64_32 " in relocs  # the trap is really there
    assert diagnose_archive(_archive(tmp_path / "libdebug.a", obj)).pic is True


def test_one_non_pic_object_added_to_a_pic_archive_is_found(tmp_path: Path) -> None:
    copy = tmp_path / "libpython-mixed.a"
    shutil.copyfile(_debian("libpython3.11-pic.a"), copy)
    intruder = _compile(tmp_path, "a-rather-long-object-name", "-fno-pic")  # via the // table
    _archive(copy, intruder)
    diagnosis = diagnose_archive(copy)
    assert diagnosis.pic is False
    assert diagnosis.non_pic_member_count == 1
    assert diagnosis.non_pic_members == ("a-rather-long-object-name.o",)
    assert diagnosis.members == diagnose_archive(_debian("libpython3.11-pic.a")).members + 1


def test_gcc_lto_slim_and_fat(tmp_path: Path) -> None:
    slim = diagnose_archive(_archive(tmp_path / "libslim.a", _compile(tmp_path, "slim", "-flto")))
    assert slim.lto == "gcc" and slim.lto_slim and slim.lto_members == ("slim.o",)
    assert not slim.linkable_into_pie
    assert "contains LTO bytecode from GCC" in describe(slim)[0]
    fat_object = _compile(tmp_path, "fat", "-flto", "-ffat-lto-objects", "-fPIC")
    fat = diagnose_archive(_archive(tmp_path / "libfat.a", fat_object))
    assert fat.lto == "gcc" and not fat.lto_slim and fat.pic is True


def test_clang_lto_bitcode(tmp_path: Path) -> None:
    obj = _compile(tmp_path, "bitcode", "-flto", compiler="clang")
    diagnosis = diagnose_archive(_archive(tmp_path / "libbc.a", obj))
    assert diagnosis.lto == "clang" and diagnosis.lto_slim
    assert diagnosis.elf_members == 0 and diagnosis.pic is None
    assert "clang/LLVM" in describe(diagnosis)[0]


def test_thin_archive_is_refused_clearly(tmp_path: Path) -> None:
    thin = _archive(tmp_path / "libthin.a", _compile(tmp_path, "thin", "-fPIC"), thin=True)
    with pytest.raises(UnreadableInputError, match="thin archive") as caught:
        diagnose_archive(thin)
    assert caught.value.path == str(thin)


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    tmp = tmp_path_factory.mktemp("fuzz")
    objects = [_compile(tmp, "fuzz-pic", "-fPIC"), _compile(tmp, "fuzz-nopic", "-fno-pic")]
    return _archive(tmp / "libfuzz.a", *objects).read_bytes()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_archives_give_a_diagnosis_or_unreadable_never_a_crash(
    small_archive: bytes, tmp_path: Path, data: st.DataObject
) -> None:
    blob = bytearray(small_archive)
    for _ in range(data.draw(st.integers(1, 8))):
        blob[data.draw(st.integers(8, len(blob) - 1))] = data.draw(st.integers(0, 255))
    blob = blob[: data.draw(st.integers(8, len(blob)))]
    path = tmp_path / f"fuzz-{os.getpid()}.a"
    path.write_bytes(bytes(blob))
    try:
        diagnosis = diagnose_archive(path)
    except UnreadableInputError:
        return
    # Two objects, plus the symbol table once a corrupted name makes it look like a member.
    assert diagnosis.members <= 3
