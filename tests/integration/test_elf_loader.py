"""ld.so search-order emulation, checked against the real loader on subjects built here.

`ld.so --list` is glibc's own answer for where each library comes from; it maps the
libraries but runs none of the program's code, and is only used on programs built here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from packager.binary import ResolveContext, elf_loader, read_binary, resolve_needed
from packager.model import ParsedBinary
from tests import cbuild

LIBFOO = "int foo(void) { return 1; }\n"
APP = "int foo(void);\nint main(void) { return foo(); }\n"
SYSTEM_LIBPYTHON = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"


def parse_file(path: str | Path) -> ParsedBinary:
    return read_binary(str(path))[1][0]


def resolved(path: str | Path, **context: object) -> dict[str, str | None]:
    needed = resolve_needed(parse_file(path), str(path), ResolveContext(**context))  # type: ignore[arg-type]
    return {library.name: library.resolved_path for library in needed}


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


def same_file(first: str | None, second: str | None) -> bool:
    return first is not None and second is not None and os.path.samefile(first, second)


# --- real system binaries -----------------------------------------------------------------


def test_gdb_finds_libpython_in_the_system_directories() -> None:
    if not os.path.exists("/usr/bin/gdb"):
        pytest.fail("gdb is not installed")
    where = resolved("/usr/bin/gdb")
    assert same_file(where["libpython3.11.so.1.0"], SYSTEM_LIBPYTHON)
    assert all(path is not None for path in where.values())


def test_running_python_finds_libpython_through_its_runpath() -> None:
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        pytest.fail("the running Python is not an --enable-shared build")
    libdir, soname = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    python = (
        Path(str(sysconfig.get_config_var("BINDIR"))) / f"python{sysconfig.get_python_version()}"
    )
    assert resolved(python)[soname] == os.path.join(libdir, soname)


# --- subjects built here, each compared with ld.so's own answer ----------------------------


@pytest.mark.integration
@pytest.mark.parametrize("dtags", ["--enable-new-dtags", "--disable-new-dtags"])
def test_origin_relative_rpath(tmp_path: Path, dtags: str) -> None:
    lib = library(tmp_path / "app" / "lib")
    app = app_linked_to(
        tmp_path / "app" / "bin" / "app", lib.parent, "-Wl,-rpath,$ORIGIN/../lib", f"-Wl,{dtags}"
    )
    where = resolved(app)
    assert where["libfoo.so"] == str(tmp_path / "app" / "lib" / "libfoo.so")  # no "bin/.."
    assert same_file(where["libfoo.so"], loader_answer(app)["libfoo.so"])


@pytest.mark.integration
def test_origin_is_the_real_directory_of_a_symlinked_binary(tmp_path: Path) -> None:
    lib = library(tmp_path / "app" / "lib")
    app = app_linked_to(tmp_path / "app" / "bin" / "app", lib.parent, "-Wl,-rpath,$ORIGIN/../lib")
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "app"
    link.symlink_to(app)
    assert same_file(resolved(link)["libfoo.so"], lib)


@pytest.mark.integration
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


@pytest.mark.integration
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


@pytest.mark.integration
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


@pytest.mark.integration
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


@pytest.mark.integration
def test_a_file_that_is_not_elf_stops_the_search(tmp_path: Path) -> None:
    library(tmp_path / "good")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "libfoo.so").write_text("/* GNU ld script */\n" * 8)
    app = app_linked_to(tmp_path / "app", tmp_path / "good", f"-Wl,-rpath,{tmp_path / 'good'}")
    # ld.so fails with "invalid ELF header" here rather than trying the next directory.
    assert resolved(app, environ={"LD_LIBRARY_PATH": str(tmp_path / "text")})["libfoo.so"] is None


@pytest.mark.integration
def test_missing_library_is_reported_unresolved(tmp_path: Path) -> None:
    lib = library(tmp_path / "lib")
    app = app_linked_to(tmp_path / "app", lib.parent)
    lib.unlink()
    where = resolved(app)
    assert where["libfoo.so"] is None
    assert where["libc.so.6"] is not None


@pytest.mark.integration
def test_needed_name_with_a_slash_is_used_as_given(tmp_path: Path) -> None:
    lib = cbuild.gcc(tmp_path / "lib" / "libbare.so", {"foo.c": LIBFOO}, "-shared", "-fPIC")
    app = cbuild.gcc(tmp_path / "app", {"app.c": APP}, str(lib))
    assert str(lib) in parse_file(app).needed  # no SONAME: the link path is recorded
    assert resolved(app)[str(lib)] == str(lib)
    lib.unlink()
    assert resolved(app)[str(lib)] is None


@pytest.mark.integration
def test_empty_rpath_entry_means_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = library(tmp_path / "cwd")
    app = app_linked_to(tmp_path / "app", lib.parent, "-Wl,-rpath,/nonexistent::/also-not")
    monkeypatch.chdir(tmp_path / "cwd")
    where = resolved(app)
    assert same_file(where["libfoo.so"], lib)
    assert same_file(where["libfoo.so"], loader_answer(app, cwd=tmp_path / "cwd")["libfoo.so"])


# --- sysroots, ld.so.conf and dynamic string tokens ------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_ld_so_conf_follows_includes_comments_and_loops(tmp_path: Path) -> None:
    write(tmp_path / "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n/opt/last/\n")
    write(tmp_path / "etc/ld.so.conf.d/10-a.conf", "# a comment\n/opt/a  # trailing\n\n")
    write(tmp_path / "etc/ld.so.conf.d/20-b.conf", "include 20-b.conf\nhwcap 0 nosegneg\n/opt/b\n")
    write(tmp_path / "etc/ld.so.conf.d/30-c.conf", "include\tsub/*.conf\n/opt/b\n")
    write(tmp_path / "etc/ld.so.conf.d/sub/x.conf", "/opt/sub=libc6\n")
    write(tmp_path / "etc/ld.so.conf.d/README", "/opt/not-a-conf-file\n")
    directories = elf_loader.ld_so_conf_directories(str(tmp_path))
    assert directories == ("/opt/a", "/opt/b", "/opt/sub", "/opt/last")


def test_ld_so_conf_missing_is_empty(tmp_path: Path) -> None:
    assert elf_loader.ld_so_conf_directories(str(tmp_path)) == ()


@pytest.mark.integration
def test_resolution_inside_a_sysroot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    write(root / "etc/ld.so.conf.d/custom.conf", "/opt/custom\n")
    lib = library(root / "opt" / "custom")
    app = app_linked_to(tmp_path / "app", lib.parent)
    where = resolved(app, root=str(root))
    assert where["libfoo.so"] == str(lib)
    assert where["libc.so.6"] is None  # the sysroot has no libc


@pytest.mark.integration
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


@pytest.mark.integration
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
