"""Every bundle format of the hello sample runs in the sandbox with no Python visible."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from packager.binary import ResolveContext
from packager.bundle import BundleFormat, BundleManifest, bundle_binary, verify_bundle
from packager.inspect import inspect_file
from packager.model import LinkMode
from tests.bundle_helpers import (
    ALL_FORMATS,
    EXPECTED_LINES,
    bundle_environ,
    output_path,
)

pytestmark = pytest.mark.integration


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
    assert (stdlib / "os.py").is_file() and (stdlib / "lib-dynload").is_dir()
    for trimmed in ("test", "idlelib", "tkinter", "ensurepip", "lib2to3", "distutils"):
        assert not (stdlib / trimmed).exists(), trimmed
    assert not list(stdlib.glob("config-*"))
    assert not list((stdlib / "lib-dynload").glob("_test*"))
    assert not (stdlib / "dist-packages" / "pip").exists()
    # unchecked-hash .pyc: flags word 0b01 (hash-based, source not checked).
    pyc = stdlib / "__pycache__" / "os.cpython-311.pyc"
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    assert not list(stdlib.rglob("*.opt-1.pyc"))
    sizes = hello_bundle.sizes
    assert sizes.libpython > 1_000_000 and sizes.stdlib > 1_000_000
    assert sizes.total == sum(
        f.stat().st_size for f in tree.rglob("*") if f.is_file() and not f.is_symlink()
    )


def test_deb_depends_on_the_system_libraries_with_a_glibc_floor(
    hello_bundle: BundleManifest,
) -> None:
    depends = hello_bundle.deb_depends
    assert any(entry.startswith("libc6 (>= 2.") for entry in depends), depends
    assert not any(entry.startswith("libpython3") for entry in depends), depends


def test_archives_are_byte_identical_across_runs(
    hello_bundle: BundleManifest, hello_binary: Path, tmp_path: Path
) -> None:
    again = bundle_binary(
        str(hello_binary),
        out_dir=str(tmp_path),
        environ=bundle_environ(),
        formats=(BundleFormat.TAR_GZ, BundleFormat.TAR_ZST, BundleFormat.ZIP),
    )
    for fmt in (BundleFormat.TAR_GZ, BundleFormat.TAR_ZST, BundleFormat.ZIP):
        first, second = output_path(hello_bundle, fmt), output_path(again, fmt)
        assert first.read_bytes() == second.read_bytes(), fmt


def test_stdlib_zip_and_requirements_with_a_c_extension(hello_binary: Path, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("markupsafe==3.0.2\n")
    out = tmp_path / "out"
    out.mkdir()
    manifest = bundle_binary(
        str(hello_binary),
        out_dir=str(out),
        environ=bundle_environ(),
        requirements=str(requirements),
        zip_stdlib=True,
        keep=["pydoc_data"],
    )
    tree = output_path(manifest, BundleFormat.DIR)
    assert manifest.requirements == ("MarkupSafe==3.0.2",)
    assert list((tree / "lib/python3.11/dist-packages/markupsafe").glob("_speedups.*.so"))
    assert (tree / "lib" / "python311.zip").is_file()
    assert not (tree / "lib/python3.11/os.py").exists()
    assert manifest.kept == ("pydoc_data",)
    # The zipped stdlib and the C extension both import inside the sandbox: the probe
    # runs from a .pth file as the bundled interpreter starts.
    probe = (
        "import markupsafe, pydoc_data.topics, json\n"
        "print('probe', markupsafe.escape('<'), flush=True)"
    )
    site = tree / "lib/python3.11/dist-packages"
    (site / "zz_probe.py").write_text(probe + "\n")
    (site / "zz_probe.pth").write_text("import zz_probe\n")
    result = verify_bundle(str(tree), environ=os.environ)
    assert result.returncode == 0, result.stderr
    assert "probe &lt;" in result.stdout.splitlines()


def test_a_bundle_without_its_stdlib_fails_in_the_sandbox(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    # Proves the sandbox hides the system's stdlib: a bundle must bring its own.
    tree = tmp_path / hello_bundle.name
    shutil.copytree(output_path(hello_bundle, BundleFormat.DIR), tree)
    shutil.rmtree(tree / "lib" / "python3.11" / "encodings")
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
    result = verify_bundle(str(tree), environ=os.environ)
    assert result.returncode != 0
    assert "libpython3.11.so.1.0: cannot open shared object file" in result.stderr
