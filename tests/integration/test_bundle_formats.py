"""Every bundle format of the hello sample runs in the sandbox with no Python visible."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from packager.binary import ResolveContext
from packager.binary.inspect import inspect_file
from packager.binary.model import LinkMode
from packager.bundle import BundleFormat, BundleManifest, ContentOptions, verify_bundle
from packager.bundle.strip import strip_files
from packager.core.context import Context
from packager.verify.sandbox import SANDBOX_AREA, sandbox_argv
from tests.helpers import REPO
from tests.integration.bundle_helpers import (
    ALL_FORMATS,
    EXPECTED_LINES,
    bundle_environ,
    bundle_tree,
    drop_sbom,
    output_path,
    remove_pure_stdlib,
)
from tests.pythons import INSTALL_UNSTRIPPED, shared_libpythons


@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=[fmt.value for fmt in ALL_FORMATS])
def test_each_format_runs_where_no_python_is_visible(
    hello_bundle: BundleManifest, fmt: BundleFormat
) -> None:
    subject = output_path(hello_bundle, fmt)
    result = verify_bundle(str(subject), ["an arg"], environ=os.environ)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(hello_bundle.python_version + " ")
    assert tuple(lines[2:4]) == EXPECTED_LINES
    assert "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0" in result.hidden
    assert "/usr/lib/python3.11" in result.hidden


def test_tree_layout_rpath_and_trimmed_stdlib(hello_bundle: BundleManifest) -> None:
    tree = output_path(hello_bundle, BundleFormat.DIR)
    name = hello_bundle.name
    report = inspect_file(str(tree / "bin" / name), ResolveContext(environ={}))[0]
    assert report.link_mode is LinkMode.DYNAMIC
    assert report.rpaths == ("$ORIGIN/../lib",)
    assert report.libpython is not None and report.libpython.resolved_path is not None
    assert Path(report.libpython.resolved_path).resolve() == (tree / "lib" / report.libpython.name)
    stdlib = tree / "lib" / "python3.11"
    assert (stdlib / "lib-dynload").is_dir()
    assert not hello_bundle.zip_stdlib and not (tree / "lib" / "python311.zip").exists()
    # unchecked-hash .pyc: flags word 0b01 (hash-based, source not checked).
    assert int.from_bytes((stdlib / "os.pyc").read_bytes()[4:8], "little") == 0b01
    members = {
        path.relative_to(stdlib).as_posix()
        for path in stdlib.rglob("*")
        if path.is_file()
        and path.relative_to(stdlib).parts[0] not in ("lib-dynload", "dist-packages")
    }
    assert {"os.pyc", "encodings/__init__.pyc", "json/decoder.pyc"} <= members
    assert not any(member.endswith(".py") or "__pycache__" in member for member in members)
    for trimmed in ("test", "idlelib", "tkinter", "ensurepip", "lib2to3", "distutils"):
        assert not any(member.startswith(f"{trimmed}/") for member in members), trimmed
    assert "_pydecimal.pyc" not in members and "decimal.pyc" in members
    assert not list(stdlib.glob("config-*"))
    assert not list((stdlib / "lib-dynload").glob("_test*"))
    assert not (stdlib / "dist-packages" / "pip").exists()
    sizes = hello_bundle.sizes
    assert sizes.libpython > 1_000_000 and sizes.stdlib > 1_000_000
    assert sizes.total == sum(
        f.stat().st_size for f in tree.rglob("*") if f.is_file() and not f.is_symlink()
    )


def section_names(path: Path) -> set[str]:
    """The ELF section names of `path`, as readelf lists them."""
    listing = subprocess.run(
        ["readelf", "-SW", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"\]\s+(\.\S+)", listing))


def test_shipped_elf_files_are_stripped_and_still_check_clean(
    hello_bundle: BundleManifest,
) -> None:
    tree = output_path(hello_bundle, BundleFormat.DIR)
    libpython = tree / "lib" / "libpython3.11.so.1.0"
    binary = tree / "bin" / hello_bundle.name
    decimal = next((tree / "lib/python3.11/lib-dynload").glob("_decimal.*.so"))
    assert hello_bundle.stripped
    for path in (libpython, decimal):
        assert ".symtab" not in section_names(path), path
    # The test binary is a debug build: its DWARF sections are most of its size.
    assert ".debug_info" not in section_names(binary)
    assert binary.stat().st_size < Path(hello_bundle.source_binary).stat().st_size / 4
    # The binary keeps its own PyInit_* so `check --expect-module` still finds it.
    report = inspect_file(str(binary), ResolveContext(environ={}))[0]
    assert report.symbols.pyinit == ("PyInit_hello_native",)
    libpython_report = inspect_file(str(libpython), ResolveContext(environ={}))[0]
    assert {"PyModule_Create2", "PyTuple_Type"} <= set(libpython_report.symbols.exported)
    for args in (["--expect-module", "hello_native", str(binary)], [str(libpython), str(decimal)]):
        checked = subprocess.run(
            [sys.executable, "-m", "packager", "check", "--fail-on", "warning", *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "0 finding(s)" in checked.stdout


def libpython_with_symbols() -> Path:
    """A shared libpython that still carries its symbol table and debug information: an
    installed CPython's (a build from source keeps them), else the debug build Debian ships
    beside its stripped libpython (libpython3.X-dbg: libpython3.Xd.so.1.0, same LIBDIR)."""
    candidates = []
    for interpreter in shared_libpythons():
        candidates.append(Path(str(interpreter.shared_library)))
        debug_build = f"libpython{interpreter.ldversion}d.so.1.0"
        candidates.append(Path(str(interpreter.libdir)) / debug_build)
    for path in candidates:
        if path.is_file() and {".symtab", ".debug_info"} <= section_names(path):
            return path
    pytest.fail(
        f"no shared libpython with its symbols among {[str(path) for path in candidates]}: "
        f"{INSTALL_UNSTRIPPED}"
    )


def test_a_stripped_libpython_exports_the_same_c_api(tmp_path: Path) -> None:
    # The session's bundles ship Debian's libpython, stripped already; this one has symbols.
    source = libpython_with_symbols()
    assert ".symtab" in section_names(source), f"{source} must carry symbols to test stripping"
    copy = tmp_path / source.name
    shutil.copy2(source, copy)
    strip_files([str(copy)], Context(environ=os.environ))
    assert ".symtab" not in section_names(copy) and ".debug_info" not in section_names(copy)
    assert copy.stat().st_size < source.stat().st_size / 2
    before, after = (
        inspect_file(str(path), ResolveContext(environ={}))[0].symbols for path in (source, copy)
    )
    assert after.exported == before.exported and len(after.exported) > 1000


def test_deb_depends_on_the_system_libraries_with_a_glibc_floor(
    hello_bundle: BundleManifest,
) -> None:
    depends = hello_bundle.deb_depends
    assert any(entry.startswith("libc6 (>= 2.") for entry in depends), depends
    assert not any(entry.startswith("libpython3") for entry in depends), depends


def test_archives_are_byte_identical_across_runs_and_caches(
    hello_bundle: BundleManifest, hello_binary: Path, tmp_path: Path
) -> None:
    # The session bundle used the user's cache; this run starts from an empty one.
    out = tmp_path / "out"
    out.mkdir()
    environ = {**bundle_environ(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    formats = (BundleFormat.TAR_GZ, BundleFormat.TAR_ZST, BundleFormat.ZIP)
    again = bundle_tree(str(hello_binary), str(out), environ=environ, formats=formats)
    for fmt in formats:
        first, second = output_path(hello_bundle, fmt), output_path(again, fmt)
        assert first.read_bytes() == second.read_bytes(), fmt
    cache = tmp_path / "cache" / "packager"
    assert len(list((cache / "runtime").glob("*/manifest.json"))) == 1
    assert list((cache / "zstd").glob("*/*.zst")), "no frame was cached"
    assert not list((cache / "runtime").glob(".building-*"))
    # Warm now: the same bytes again, without preparing the runtime a second time.
    messages: list[str] = []
    out_warm = tmp_path / "warm"
    out_warm.mkdir()
    warm = bundle_tree(
        str(hello_binary),
        str(out_warm),
        environ=environ,
        formats=(BundleFormat.TAR_ZST,),
        progress=messages.append,
    )
    assert not any(message.startswith("preparing") for message in messages), messages
    zst = output_path(warm, BundleFormat.TAR_ZST)
    assert zst.read_bytes() == output_path(hello_bundle, BundleFormat.TAR_ZST).read_bytes()


def add_probe(site_packages: Path, source: str) -> None:
    """Make the bundled interpreter run `source` as it starts (from a .pth file)."""
    (site_packages / "zz_probe.py").write_text(source + "\n")
    (site_packages / "zz_probe.pth").write_text("import zz_probe\n")


def test_requirements_with_a_c_extension_and_stripped_stdlib_extensions(
    hello_binary: Path, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("markupsafe==3.0.2\n")
    out = tmp_path / "out"
    out.mkdir()
    manifest = bundle_tree(
        str(hello_binary),
        str(out),
        environ=bundle_environ(),
        content=ContentOptions(requirements=str(requirements), keep=("pydoc_data",)),
    )
    tree = output_path(manifest, BundleFormat.DIR)
    assert manifest.requirements == ("MarkupSafe==3.0.2",)
    site = tree / "lib/python3.11/dist-packages"
    speedups = list((site / "markupsafe").glob("_speedups.*.so"))
    assert speedups and ".symtab" not in section_names(speedups[0])
    assert manifest.kept == ("pydoc_data",)
    # Inside the sandbox the stripped libpython still serves what extension modules need
    # (_decimal, _ctypes, _json, the wheel's _speedups), and the zipped stdlib imports.
    add_probe(
        site,
        "import _ctypes, _decimal, _json, decimal, json, markupsafe, pydoc_data.topics, sys\n"
        "assert markupsafe._escape_inner.__module__ == 'markupsafe._speedups'\n"
        "assert json.__file__.endswith('python3.11/json/__init__.pyc'), json.__file__\n"
        "print('probe', markupsafe.escape('<'), decimal.Decimal(1) / 8, flush=True)",
    )
    result = verify_bundle(str(tree), environ=os.environ)
    assert result.returncode == 0, result.stderr
    assert "probe &lt; 0.125" in result.stdout.splitlines()


def test_stdlib_sources_and_no_strip_keep_what_the_defaults_drop(
    hello_binary: Path, tmp_path: Path
) -> None:
    manifest = bundle_tree(
        str(hello_binary),
        str(tmp_path),
        environ=bundle_environ(),
        content=ContentOptions(stdlib_sources=True, strip=False),
    )
    tree = output_path(manifest, BundleFormat.DIR)
    stdlib = tree / "lib" / "python3.11"
    assert not manifest.zip_stdlib and not manifest.stripped
    assert not (tree / "lib" / "python311.zip").exists()
    assert (stdlib / "os.py").is_file()
    pyc = stdlib / "__pycache__" / "os.cpython-311.pyc"
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    assert ".debug_info" in section_names(tree / "bin" / manifest.name)
    # A traceback through a stdlib frame shows the source line only with the sources.
    add_probe(
        stdlib / "dist-packages",
        "import json, traceback\n"
        "try:\n    json.loads('{')\n"
        "except ValueError:\n    print(traceback.format_exc(), flush=True)",
    )
    result = verify_bundle(str(tree), environ=os.environ)
    assert result.returncode == 0, result.stderr
    assert "obj, end = self.scan_once(s, idx)" in result.stdout


def test_a_bundle_without_its_stdlib_fails_in_the_sandbox(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    # Proves the sandbox hides the system's stdlib: a bundle must bring its own.
    tree = tmp_path / hello_bundle.name
    shutil.copytree(output_path(hello_bundle, BundleFormat.DIR), tree)
    remove_pure_stdlib(tree)
    drop_sbom(tree)
    result = verify_bundle(str(tree), environ=os.environ)
    assert result.returncode != 0
    assert "encodings" in result.stderr


def test_a_bundle_without_its_libpython_fails_in_the_sandbox(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    # Proves the system libpython is hidden: the dynamic bundle must ship its own.
    tree = tmp_path / hello_bundle.name
    shutil.copytree(output_path(hello_bundle, BundleFormat.DIR), tree)
    for library in (tree / "lib").glob("libpython*"):
        library.unlink()
    drop_sbom(tree)
    result = verify_bundle(str(tree), environ=os.environ)
    assert result.returncode != 0
    assert "libpython3.11.so.1.0: cannot open shared object file" in result.stderr


def test_the_bundled_binary_runs_without_its_launcher(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    # No launcher and no PYTHONHOME: the binary finds lib/libpython through its rpath and
    # the bundle's stdlib from its own location (the start-up code packager links in).
    area = tmp_path / "area"
    shutil.copytree(output_path(hello_bundle, BundleFormat.DIR), area / "moved bundle")
    bwrap = shutil.which("bwrap")
    assert bwrap is not None
    argv, hidden = sandbox_argv(bwrap, str(area), os.environ, None)
    program = f"{SANDBOX_AREA}/moved bundle/bin/{hello_bundle.name}"
    done = subprocess.run(
        [*argv, program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(hello_bundle.python_version + " ")
    assert tuple(lines[2:4]) == EXPECTED_LINES
    assert "/usr/lib/python3.11" in hidden
    assert not any("needs PYTHONHOME" in note for note in hello_bundle.notes)


def test_check_expects_a_module_of_the_programs_of_a_folder_not_of_its_libraries(
    hello_bundle: BundleManifest,
) -> None:
    # A folder holds libpython and every lib-dynload module besides the program: none of
    # them registers the program's own module, so only bin/hello is held to it.
    tree = output_path(hello_bundle, BundleFormat.DIR)
    checked = subprocess.run(
        [sys.executable, "-m", "packager", "check", "--json", "--expect-module", "hello_native",
         "--expect-module", "absent_native", str(tree)],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    missing = {
        (Path(report["path"]).relative_to(tree).as_posix(), finding["message"].split()[1])
        for report in json.loads(checked.stdout)["binaries"]
        for finding in report["findings"]
        if finding["code"] == "PKG109"
    }
    assert missing == {(f"bin/{hello_bundle.name}", "PyInit_absent_native")}
