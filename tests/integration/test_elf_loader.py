"""ld.so search-order emulation, checked against the real loader on subjects built here.

`ld.so --list` is glibc's own answer for where each library comes from; it maps the
libraries but runs none of the program's code, and is only used on programs built here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.binary import ResolveContext, elf_loader
from tests.integration import cbuild
from tests.unit.test_elf_loader import parse_file, resolved, same_file, write

LIBFOO = "int foo(void) { return 1; }\n"
APP = "int foo(void);\nint main(void) { return foo(); }\n"


def loader_answer(
    app: Path, environ: dict[str, str] | None = None, cwd: Path | None = None
) -> dict[str, str]:
    """Where glibc's ld.so itself maps each library of `app` (ld.so --list)."""
    interpreter = parse_file(app).interpreter
    assert interpreter is not None
    completed = subprocess.run(
        [interpreter, "--list", str(app)],
        env={"PATH": os.environ.get("PATH", ""), **(environ or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answer = dict(re.findall(r"^\s+(\S+) => (\S+) \(", completed.stdout, re.MULTILINE))
    # A library found through an empty (current-directory) entry is listed without "=>".
    for name in re.findall(r"^\s+([^\s/]+) \(0x", completed.stdout, re.MULTILINE):
        answer.setdefault(name, name)
    return answer


def library(directory: Path, name: str = "libfoo.so") -> Path:
    return cbuild.gcc(
        directory / name, {"foo.c": LIBFOO}, "-shared", "-fPIC", f"-Wl,-soname,{name}"
    )


def app_linked_to(out: Path, libdir: Path, *flags: str) -> Path:
    return cbuild.gcc(out, {"app.c": APP}, f"-L{libdir}", "-lfoo", *flags)


# --- subjects built here, each compared with ld.so's own answer ----------------------------


@pytest.mark.parametrize("dtags", ["--enable-new-dtags", "--disable-new-dtags"])
def test_origin_relative_rpath(tmp_path: Path, dtags: str) -> None:
    lib = library(tmp_path / "app" / "lib")
    app = app_linked_to(
        tmp_path / "app" / "bin" / "app", lib.parent, "-Wl,-rpath,$ORIGIN/../lib", f"-Wl,{dtags}"
    )
    where = resolved(app)
    assert where["libfoo.so"] == str(tmp_path / "app" / "lib" / "libfoo.so")  # no "bin/.."
    assert same_file(where["libfoo.so"], loader_answer(app)["libfoo.so"])


def test_origin_is_the_real_directory_of_a_symlinked_binary(tmp_path: Path) -> None:
    lib = library(tmp_path / "app" / "lib")
    app = app_linked_to(tmp_path / "app" / "bin" / "app", lib.parent, "-Wl,-rpath,$ORIGIN/../lib")
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "app"
    link.symlink_to(app)
    assert same_file(resolved(link)["libfoo.so"], lib)


@pytest.mark.parametrize(
    ("dtags", "winner"), [("--disable-new-dtags", "a"), ("--enable-new-dtags", "b")]
)
def test_rpath_comes_before_ld_library_path_and_runpath_after(
    tmp_path: Path, dtags: str, winner: str
) -> None:
    library(tmp_path / "a")
    library(tmp_path / "b")
    app = app_linked_to(
        tmp_path / "app", tmp_path / "a", f"-Wl,-rpath,{tmp_path / 'a'}", f"-Wl,{dtags}"
    )
    environ = {"LD_LIBRARY_PATH": str(tmp_path / "b")}
    where = resolved(app, environ=environ)
    assert where["libfoo.so"] == str(tmp_path / winner / "libfoo.so")
    assert same_file(where["libfoo.so"], loader_answer(app, environ)["libfoo.so"])


def test_the_environment_comes_only_from_the_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library(tmp_path / "a")
    library(tmp_path / "b")
    app = app_linked_to(
        tmp_path / "app", tmp_path / "a", f"-Wl,-rpath,{tmp_path / 'a'}", "-Wl,--enable-new-dtags"
    )
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path / "b"))
    assert resolved(app)["libfoo.so"] == str(tmp_path / "a" / "libfoo.so")


def test_set_user_id_programs_ignore_ld_library_path(tmp_path: Path) -> None:
    library(tmp_path / "a")
    library(tmp_path / "b")
    app = app_linked_to(
        tmp_path / "app", tmp_path / "a", f"-Wl,-rpath,{tmp_path / 'a'}", "-Wl,--enable-new-dtags"
    )
    environ = {"LD_LIBRARY_PATH": str(tmp_path / "b")}
    assert resolved(app, environ=environ)["libfoo.so"] == str(tmp_path / "b" / "libfoo.so")
    app.chmod(0o4755)
    assert resolved(app, environ=environ)["libfoo.so"] == str(tmp_path / "a" / "libfoo.so")


def test_a_library_for_another_machine_is_skipped(tmp_path: Path) -> None:
    library(tmp_path / "good")
    foreign = library(tmp_path / "foreign")
    data = bytearray(foreign.read_bytes())
    data[18:20] = (183).to_bytes(2, "little")  # EM_AARCH64
    foreign.write_bytes(bytes(data))
    app = app_linked_to(tmp_path / "app", tmp_path / "good", f"-Wl,-rpath,{tmp_path / 'good'}")
    environ = {"LD_LIBRARY_PATH": str(tmp_path / "foreign")}
    where = resolved(app, environ=environ)
    assert where["libfoo.so"] == str(tmp_path / "good" / "libfoo.so")
    assert same_file(where["libfoo.so"], loader_answer(app, environ)["libfoo.so"])


def test_a_file_that_is_not_elf_stops_the_search(tmp_path: Path) -> None:
    library(tmp_path / "good")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "libfoo.so").write_text("/* GNU ld script */\n" * 8)
    app = app_linked_to(tmp_path / "app", tmp_path / "good", f"-Wl,-rpath,{tmp_path / 'good'}")
    # ld.so fails with "invalid ELF header" here rather than trying the next directory.
    assert resolved(app, environ={"LD_LIBRARY_PATH": str(tmp_path / "text")})["libfoo.so"] is None


def test_missing_library_is_reported_unresolved(tmp_path: Path) -> None:
    lib = library(tmp_path / "lib")
    app = app_linked_to(tmp_path / "app", lib.parent)
    lib.unlink()
    where = resolved(app)
    assert where["libfoo.so"] is None
    assert where["libc.so.6"] is not None


def test_needed_name_with_a_slash_is_used_as_given(tmp_path: Path) -> None:
    lib = cbuild.gcc(tmp_path / "lib" / "libbare.so", {"foo.c": LIBFOO}, "-shared", "-fPIC")
    app = cbuild.gcc(tmp_path / "app", {"app.c": APP}, str(lib))
    assert str(lib) in parse_file(app).needed  # no SONAME: the link path is recorded
    assert resolved(app)[str(lib)] == str(lib)
    lib.unlink()
    assert resolved(app)[str(lib)] is None


def test_empty_rpath_entry_means_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = library(tmp_path / "cwd")
    app = app_linked_to(tmp_path / "app", lib.parent, "-Wl,-rpath,/nonexistent::/also-not")
    monkeypatch.chdir(tmp_path / "cwd")
    where = resolved(app)
    assert same_file(where["libfoo.so"], lib)
    assert same_file(where["libfoo.so"], loader_answer(app, cwd=tmp_path / "cwd")["libfoo.so"])


# --- sysroots and dynamic string tokens ------------------------------------------------------


def test_resolution_inside_a_sysroot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    write(root / "etc/ld.so.conf.d/custom.conf", "/opt/custom\n")
    lib = library(root / "opt" / "custom")
    app = app_linked_to(tmp_path / "app", lib.parent)
    where = resolved(app, root=str(root))
    assert where["libfoo.so"] == str(lib)
    assert where["libc.so.6"] is None  # the sysroot has no libc


def test_dynamic_string_tokens(tmp_path: Path) -> None:
    app = cbuild.gcc(tmp_path / "bin" / "app", {"app.c": "int main(void) { return 0; }\n"})
    parsed = parse_file(app)._replace(
        rpaths=(
            "$ORIGIN/a",
            "${ORIGIN}/b",
            "/x/$LIB",
            "/y/${PLATFORM}",
            "",
            "/z/$NOPE",
            "/w/$ORIGINAL",
        )
    )
    multiarch = tmp_path / "multiarch"
    (multiarch / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    directories = elf_loader.search_directories(
        parsed, str(app), ResolveContext(root=str(multiarch))
    )
    origin = str(tmp_path / "bin")
    assert directories[:7] == [
        f"{origin}/a",
        f"{origin}/b",
        f"{multiarch}/x/lib/x86_64-linux-gnu",
        f"{multiarch}/y/x86_64",
        ".",
        f"{multiarch}/z/$NOPE",  # not a token ld.so knows: kept literally
        f"{multiarch}/w/$ORIGINAL",
    ]
    assert directories[-4:] == [
        f"{multiarch}/lib/x86_64-linux-gnu",
        f"{multiarch}/usr/lib/x86_64-linux-gnu",
        f"{multiarch}/lib",
        f"{multiarch}/usr/lib",
    ]
    plain = tmp_path / "plain"
    plain.mkdir()
    directories = elf_loader.search_directories(parsed, str(app), ResolveContext(root=str(plain)))
    assert f"{plain}/x/lib64" in directories
    assert directories[-2:] == [f"{plain}/lib64", f"{plain}/usr/lib64"]


def test_unexpandable_platform_drops_the_entry(tmp_path: Path) -> None:
    if shutil.which("clang") is None or shutil.which("ld.lld") is None:
        pytest.fail("clang and lld are needed for a foreign-machine library")
    source = tmp_path / "o.c"
    source.write_text("int f(void) { return 0; }\n")
    lib = tmp_path / "libo.so"
    subprocess.run(
        [
            "clang",
            "--target=riscv64-linux-gnu",
            "-shared",
            "-nostdlib",
            "-fuse-ld=lld",
            "-Wl,-rpath,/p/$PLATFORM:/q",
            str(source),
            "-o",
            str(lib),
        ],
        check=True,
    )
    directories = elf_loader.search_directories(parse_file(lib), str(lib), ResolveContext())
    assert "/q" in directories
    assert not any(
        "PLATFORM" in directory or directory.startswith("/p/") for directory in directories
    )
