"""Windows bundles: a real PE pair built with mingw-w64, bundled, inspected, run under wine.

The fake python311.dll prints a marker and the variables the launcher sets; app.exe
imports it, prints its arguments and exits with APP_EXIT. Wine runs the .cmd launcher
through its own cmd.exe, so quoting, %~dp0 and exit codes are those of a real cmd.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, ContentOptions
from packager.core.errors import InterpreterError, UsageError
from tests.integration.bundle_helpers import bundle_tree

MARKER = "FAKE-PYTHON311-STARTED"
APP_EXIT = 7
MINGW_CC = "x86_64-w64-mingw32-gcc"
MINGW_DLLTOOL = "x86_64-w64-mingw32-dlltool"
# Static, stripped and without a link time stamp: the same sources give the same bytes.
MINGW_FLAGS = ("-O1", "-s", "-Wl,--no-insert-timestamp")

FAKE_PYTHON = rf"""
#include <stdio.h>
#include <stdlib.h>
static void show(const char *name) {{
    const char *value = getenv(name);
    printf("%s=%s\n", name, value ? value : "<unset>");
}}
__declspec(dllexport) void Py_Initialize(void) {{
    printf("{MARKER}\n");
    show("PYTHONHOME"); show("PATH"); show("PYTHONPATH"); show("PYTHONNOUSERSITE");
    show("PACKAGER_RESTORE"); show("PACKAGER_HERE");
}}
__declspec(dllexport) int PyRun_SimpleString(const char *code) {{ return code == 0; }}
__declspec(dllexport) int Py_FinalizeEx(void) {{ return 0; }}
__declspec(dllexport) void *PyModule_Create2(void *def, int api) {{ return def; }}
__declspec(dllexport) const char *Py_GetVersion(void) {{ return "3.11.4"; }}
/* PY_VERSION_HEX of 3.11.4, exported as CPython 3.11 does: how the version is read. */
__declspec(dllexport) const unsigned long Py_Version = 0x030B04F0;
"""
APP = rf"""
#include <stdio.h>
__declspec(dllimport) void Py_Initialize(void);
__declspec(dllimport) int PyRun_SimpleString(const char *);
__declspec(dllimport) int Py_FinalizeEx(void);
int main(int argc, char **argv) {{
    Py_Initialize();
    for (int i = 1; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);
    PyRun_SimpleString("print(1)");
    Py_FinalizeEx();
    fflush(stdout);
    return {APP_EXIT};
}}
"""
EXTENSION = r"""
__declspec(dllimport) void *PyModule_Create2(void *def, int api);
static char moduledef[64];
__declspec(dllexport) void *PyInit__fake(void) { return PyModule_Create2(moduledef, 1013); }
"""
ABI3_DEF = "LIBRARY python3.dll\nEXPORTS\n  Py_Initialize\n  PyRun_SimpleString\n  Py_FinalizeEx\n"


@dataclass(frozen=True)
class PePair:
    app: Path  # imports python311.dll
    abi3_app: Path  # imports python3.dll
    home: Path  # a fake Windows CPython home


def _mingw(*args: str) -> None:
    completed = subprocess.run(args, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed:\n{completed.stderr}")


@pytest.fixture(scope="session")
def pe_pair(tmp_path_factory: pytest.TempPathFactory) -> PePair:
    """The programs and the home, built once with mingw-w64."""
    if shutil.which(MINGW_CC) is None:
        pytest.fail(f"{MINGW_CC} is missing (Debian: apt-get install gcc-mingw-w64-x86-64)")
    work = tmp_path_factory.mktemp("pe_pair")
    for name, text in {"python.c": FAKE_PYTHON, "app.c": APP, "ext.c": EXTENSION}.items():
        (work / name).write_text(text)
    (work / "python3.def").write_text(ABI3_DEF)
    home = work / "home"
    (home / "Lib").mkdir(parents=True)
    (home / "DLLs").mkdir()
    dll = home / "python311.dll"
    implib = work / "libpython311.a"
    _mingw(MINGW_CC, *MINGW_FLAGS, "-shared", "-o", str(dll), str(work / "python.c"),
           f"-Wl,--out-implib,{implib}")  # fmt: skip
    _mingw(MINGW_CC, *MINGW_FLAGS, "-o", str(work / "app.exe"), str(work / "app.c"), str(implib))
    _mingw(MINGW_CC, *MINGW_FLAGS, "-shared", "-o", str(home / "DLLs" / "_fake.pyd"),
           str(work / "ext.c"), str(implib))  # fmt: skip
    abi3_implib = work / "libpython3.a"
    _mingw(MINGW_DLLTOOL, "-d", str(work / "python3.def"), "-l", str(abi3_implib))
    _mingw(MINGW_CC, *MINGW_FLAGS, "-o", str(work / "abi3.exe"), str(work / "app.c"),
           str(abi3_implib))  # fmt: skip
    # The home as a full installation has it, plus the embeddable package's ._pth.
    shutil.copy(dll, home / "python3.dll")
    (home / "Lib" / "os.py").write_text("sep = '\\\\'\n")
    (home / "Lib" / "__pycache__").mkdir()
    (home / "Lib" / "__pycache__" / "os.cpython-311.pyc").write_bytes(b"stale")
    (home / "Lib" / "site-packages" / "pip").mkdir(parents=True)
    (home / "LICENSE.txt").write_text("PSF LICENSE AGREEMENT\n")
    (home / "python311._pth").write_text("python311.zip\n.\n")
    (home / "python.exe").write_bytes(b"MZ not shipped")
    return PePair(work / "app.exe", work / "abi3.exe", home)


@pytest.fixture(scope="session")
def wine_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An environment with a fresh WINEPREFIX, created once (the slow first start)."""
    wine = shutil.which("wine")
    if wine is None:
        pytest.fail("wine is missing (Debian: apt-get install wine wine64)")
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path_factory.mktemp("wine_home")),
        "WINEPREFIX": str(tmp_path_factory.mktemp("wine") / "prefix"),
        "WINEDEBUG": "-all",
        # No Mono or Gecko: their installers would ask for a download on first start.
        "WINEDLLOVERRIDES": "mscoree,mshtml=",
    }
    started = time.monotonic()
    created = subprocess.run(
        [wine, "cmd", "/c", "exit 0"], env=environ, capture_output=True, text=True, timeout=300
    )
    elapsed = time.monotonic() - started
    assert created.returncode == 0, f"wine could not create its prefix:\n{created.stderr}"
    print(f"wine prefix created in {elapsed:.1f} s")
    yield environ
    # The wineserver of this prefix outlives its programs for a few seconds; stop it now.
    subprocess.run(["wineserver", "-k"], env=environ, capture_output=True, check=False)


def _bundle(pair: PePair, out: Path, **options: object) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    manifest = bundle_tree(
        str(pair.app),
        out_dir=str(out),
        environ={"SOURCE_DATE_EPOCH": "1700000000"},
        name="hello",
        formats=(BundleFormat.ZIP,),
        content=ContentOptions(python_home=str(pair.home)),
        **options,  # type: ignore[arg-type]
    )
    return Path(manifest.outputs[0].path)


def _unpack(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(into)
    return into / "hello"


def _windows_path(path: Path) -> str:
    # Wine's Z: drive is the Unix root.
    return "Z:" + str(path).replace("/", "\\")


def _wine(argv: list[str], environ: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["wine", *argv], env=environ, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _printed(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


EXPECTED_ENTRIES = [
    "hello/",
    "hello/DLLs/",
    "hello/DLLs/_fake.pyd",
    "hello/LICENSE.txt",
    "hello/Lib/",
    "hello/Lib/os.py",
    "hello/Lib/site-packages/",
    "hello/Lib/site-packages/_packager_restore_env.pth",
    "hello/Lib/site-packages/_packager_restore_env.py",
    "hello/Lib/site-packages/_packager_streams.pth",
    "hello/Lib/site-packages/_packager_streams.py",
    "hello/hello.cmd",
    "hello/hello.exe",
    "hello/licenses/",
    "hello/licenses/CPython-3.11.4/",
    "hello/licenses/CPython-3.11.4/LICENSE.txt",
    "hello/licenses/README",
    "hello/python3.dll",
    "hello/python311.dll",
    "hello/sbom.cdx.json",
]


def test_zip_holds_the_layout_and_is_reproducible(pe_pair: PePair, tmp_path: Path) -> None:
    first = _bundle(pe_pair, tmp_path / "one")
    second = _bundle(pe_pair, tmp_path / "two")
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        launcher = archive.read("hello/hello.cmd")
    assert names == EXPECTED_ENTRIES  # sorted; no python.exe, ._pth, __pycache__, pip
    assert first.read_bytes() == second.read_bytes()
    assert b"\r\n" in launcher and b"\n" not in launcher.replace(b"\r\n", b"")
    sums = (tmp_path / "one" / "SHA256SUMS").read_text()
    assert [line.split("  ")[1] for line in sums.splitlines()] == [
        "hello.zip",
        "hello.zip.cdx.json",
    ]


def test_manifest(pe_pair: PePair, tmp_path: Path) -> None:
    manifest = bundle_tree(
        str(pe_pair.app),
        out_dir=str(tmp_path),
        environ={},
        formats=(BundleFormat.DIR, BundleFormat.ZIP),
        content=ContentOptions(python_home=str(pe_pair.home)),
    )
    assert (manifest.name, manifest.launcher, manifest.binary) == ("app", "app.cmd", "app.exe")
    assert manifest.python_version == "3.11.4"
    # The folder, the zip, the SBOM beside each, SHA256SUMS.
    formats = [out.format for out in manifest.outputs]
    assert formats == [BundleFormat.DIR, BundleFormat.ZIP, None, None, None]
    assert manifest.sizes.libpython == 2 * os.path.getsize(pe_pair.home / "python311.dll")
    assert manifest.sizes.total == manifest.outputs[0].size
    assert any("python311._pth was left out" in note for note in manifest.notes)
    assert (tmp_path / "app" / "app.cmd").is_file()


def test_inspect_and_check_see_the_dll_beside_the_exe(pe_pair: PePair, tmp_path: Path) -> None:
    tree = _unpack(_bundle(pe_pair, tmp_path / "out"), tmp_path / "unpacked")
    cli = [sys.executable, "-m", "packager"]
    inspected = subprocess.run(
        [*cli, "inspect", "--json", str(tree / "hello.exe")], capture_output=True, text=True
    )
    assert inspected.returncode == 0, inspected.stderr
    report = json.loads(inspected.stdout)["binaries"][0]
    assert report["link_mode"] == "dynamic"
    assert report["libpython"]["name"] == "python311.dll"
    assert report["libpython"]["resolved_path"] == str(tree / "python311.dll")
    # The program and the DLLs beside it; DLLs/*.pyd import python311.dll from the process
    # that loaded them, which `check` does not model (it reports PKG108 for them).
    checked = subprocess.run(
        [*cli, "check", str(tree / "hello.exe"), str(tree / "python311.dll")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "PKG108" not in checked.stdout
    # The same check does fail on the program alone: the proof above can fail.
    alone = subprocess.run([*cli, "check", str(pe_pair.app)], capture_output=True, text=True)
    assert alone.returncode == 1 and "PKG108" in alone.stdout


def test_bundle_runs_under_wine(pe_pair: PePair, wine_env: dict[str, str], tmp_path: Path) -> None:
    tree = _unpack(_bundle(pe_pair, tmp_path / "out"), tmp_path / "dir with spaces")
    here = _windows_path(tree)
    run = _wine(["cmd", "/c", "hello.cmd", "arg1", "arg 2"], wine_env, cwd=tree)
    assert MARKER in run.stdout, run.stdout + run.stderr
    assert run.returncode == APP_EXIT
    printed = _printed(run.stdout)
    assert printed["PYTHONHOME"] == here
    assert printed["PATH"].split(";")[0] == here
    assert "" not in printed["PATH"].split(";")
    assert (printed["arg[1]"], printed["arg[2]"]) == ("arg1", "arg 2")
    assert "arg[3]" not in printed
    assert printed["PYTHONPATH"] == "<unset>"
    assert printed["PACKAGER_RESTORE"] == "PATH PYTHONHOME PYTHONPATH PYTHONNOUSERSITE"
    assert printed["PACKAGER_HERE"] == "<unset>"
    # From another directory, by its full path: nothing depends on the current directory.
    elsewhere = _wine(["cmd", "/c", here + "\\hello.cmd", "x"], wine_env, cwd=tmp_path)
    assert elsewhere.returncode == APP_EXIT, elsewhere.stdout + elsewhere.stderr
    assert _printed(elsewhere.stdout)["PYTHONHOME"] == here


def test_launcher_refuses_a_folder_whose_path_holds_a_semicolon(
    pe_pair: PePair, wine_env: dict[str, str], tmp_path: Path
) -> None:
    # From "a;b\hello" PATH would gain the entry "b\hello", relative to the current
    # directory: a python311.dll planted there would be loaded.
    tree = _unpack(_bundle(pe_pair, tmp_path / "out"), tmp_path / "a;b")
    run = _wine(["cmd", "/c", "hello.cmd"], wine_env, cwd=tree)
    assert run.returncode == 127, run.stdout + run.stderr
    assert MARKER not in run.stdout
    assert "the path contains ';'" in run.stderr + run.stdout


def test_export_env_launcher_saves_nothing(
    pe_pair: PePair, wine_env: dict[str, str], tmp_path: Path
) -> None:
    tree = _unpack(_bundle(pe_pair, tmp_path / "out", export_env=True), tmp_path / "x")
    run = _wine(["cmd", "/c", "hello.cmd"], wine_env, cwd=tree)
    assert run.returncode == APP_EXIT, run.stdout + run.stderr
    assert _printed(run.stdout)["PACKAGER_RESTORE"] == "<unset>"


def test_exe_without_the_dll_fails_under_wine(
    pe_pair: PePair, wine_env: dict[str, str], tmp_path: Path
) -> None:
    shutil.copy(pe_pair.app, tmp_path / "app.exe")
    environ = {**wine_env, "WINEDEBUG": "-all,err+module"}
    run = _wine([str(tmp_path / "app.exe")], environ, cwd=tmp_path)
    assert run.returncode != 0
    assert MARKER not in run.stdout
    assert "python311.dll" in run.stderr and "not found" in run.stderr


def test_abi3_program_gets_both_dlls(pe_pair: PePair, tmp_path: Path) -> None:
    manifest = bundle_tree(
        str(pe_pair.abi3_app),
        out_dir=str(tmp_path),
        environ={},
        formats=(BundleFormat.DIR,),
        content=ContentOptions(python_home=str(pe_pair.home)),
    )
    tree = Path(manifest.outputs[0].path)
    assert (tree / "python3.dll").is_file() and (tree / "python311.dll").is_file()


def test_refusals_name_the_dll_and_the_fix(pe_pair: PePair, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as missing:
        bundle_tree(str(pe_pair.app), out_dir=str(tmp_path), environ={})
    assert "--python-home" in str(missing.value) and "embeddable package" in str(missing.value)
    other = tmp_path / "home312"
    (other / "Lib").mkdir(parents=True)
    (other / "Lib" / "os.py").write_text("")
    shutil.copy(pe_pair.home / "python311.dll", other / "python312.dll")
    with pytest.raises(InterpreterError) as lacking:
        bundle_tree(
            str(pe_pair.app),
            out_dir=str(tmp_path),
            environ={},
            content=ContentOptions(python_home=str(other)),
        )
    assert "python311.dll" in lacking.value.message and "python312.dll" in lacking.value.message
    assert lacking.value.path == str(other)
    no_stdlib = tmp_path / "bare"
    no_stdlib.mkdir()
    shutil.copy(pe_pair.home / "python311.dll", no_stdlib)
    with pytest.raises(InterpreterError, match="no standard library"):
        bundle_tree(
            str(pe_pair.app),
            out_dir=str(tmp_path),
            environ={},
            content=ContentOptions(python_home=str(no_stdlib)),
        )
    with pytest.raises(UsageError, match="--python-home names the target's root"):
        bundle_tree(
            sys.executable,
            out_dir=str(tmp_path),
            environ={},
            content=ContentOptions(python_home="."),
        )
    with pytest.raises(UsageError, match="cannot name"):
        bundle_tree(
            str(pe_pair.app), out_dir=str(tmp_path), environ={}, name="NUL",
            content=ContentOptions(python_home=str(pe_pair.home)),
        )  # fmt: skip
    assert set(os.listdir(tmp_path)) == {"home312", "bare"}  # nothing was written


def test_embeddable_package_layout(pe_pair: PePair, tmp_path: Path) -> None:
    """The embeddable zip keeps everything in one folder; the bundle sorts it out."""
    home = tmp_path / "embed"
    home.mkdir()
    for name in ("python311.dll", "python3.dll"):
        shutil.copy(pe_pair.home / name, home / name)
    shutil.copy(pe_pair.home / "DLLs" / "_fake.pyd", home / "_fake.pyd")
    shutil.copy(pe_pair.home / "DLLs" / "_fake.pyd", home / "libffi-8.dll")
    with zipfile.ZipFile(home / "python311.zip", "w") as stdlib_zip:
        stdlib_zip.writestr("os.pyc", b"compiled")
    (home / "python311._pth").write_text("python311.zip\n.\n")
    out = tmp_path / "out"
    out.mkdir()
    manifest = bundle_tree(
        str(pe_pair.app),
        out_dir=str(out),
        environ={},
        formats=(BundleFormat.DIR,),
        content=ContentOptions(python_home=str(home)),
    )
    tree = Path(manifest.outputs[0].path)
    shipped = sorted(str(path.relative_to(tree)) for path in tree.rglob("*") if path.is_file())
    assert shipped == [
        "DLLs/_fake.pyd",  # on sys.path as the platstdlib directory
        "Lib/site-packages/_packager_restore_env.pth",
        "Lib/site-packages/_packager_restore_env.py",
        "Lib/site-packages/_packager_streams.pth",
        "Lib/site-packages/_packager_streams.py",
        "app.cmd",
        "app.exe",
        "libffi-8.dll",  # beside the program: the application directory is searched
        "licenses/README",  # no LICENSE.txt in this home: CPython's entry has no text
        "python3.dll",
        "python311.dll",
        "python311.zip",  # found beside python311.dll, whatever PYTHONHOME says
        "sbom.cdx.json",
    ]
    assert manifest.zip_stdlib
    assert manifest.sizes.stdlib == sum(
        os.path.getsize(tree / name) for name in ("python311.zip", "DLLs/_fake.pyd")
    )
