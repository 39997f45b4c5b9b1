"""Every Linux bundle carries licenses/: the texts of what it ships, and an index naming,
for each component, the files it covers. Bundles of the hello sample on Debian's
python3.11, on the portable runtime and for aarch64 from a target's root, an app with a
wheel from --requirements, and a program that needs a library no Debian package ships
(--strict-licenses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from packager.bundle import (
    BundleFormat,
    BundleManifest,
    BundleRequest,
    ContentOptions,
    ObtainOptions,
    bundle,
)
from packager.core.context import Context
from packager.python.portable import Runtime
from tests.helpers import CARGO_TARGET_DIR, SAMPLES, cargo_env, run_packager
from tests.integration.bundle_helpers import (
    DEBIAN_PYTHON,
    bundle_environ,
    bundle_tree,
    output_path,
)
from tests.integration.licence_helpers import (
    covering,
    debian_copyright,
    debian_package_files,
    read_index,
    without_text,
)
from tests.portable_helpers import built_runtime
from tests.schemas import validate

pytestmark = pytest.mark.integration

# The libraries the runtime links into its modules that a bundle must credit, and a
# module each one is inside.
RUNTIME_LIBRARIES = {
    "openssl": "_ssl",
    "sqlite": "_sqlite3",
    "libffi": "_ctypes",
    "zlib": "zlib",
    "xz": "_lzma",
    "bzip2": "_bz2",
}
UNKNOWN_LIBRARY = "libpkgtestnolicence.so.1"


def _tree(manifest: BundleManifest) -> Path:
    return output_path(manifest, BundleFormat.DIR)


def _entry(tree: Path, component: str) -> list[str]:
    """The texts of the entry whose component starts with `component` and a space."""
    found = [e for e in read_index(tree) if e.component.split(" ")[0] == component]
    assert len(found) == 1, [e.component for e in read_index(tree)]
    return found[0].texts


@pytest.fixture(scope="module")
def runtime_bundle(tmp_path_factory: pytest.TempPathFactory) -> BundleManifest:
    """samples/hello built against the portable runtime 3.11 and bundled as a folder."""
    runtime: Runtime = built_runtime("3.11")
    environ = cargo_env(CARGO_TARGET_DIR=str(CARGO_TARGET_DIR.parent / "test-cargo-runtime"))
    environ.pop("PYTHONUNBUFFERED", None)
    request = BundleRequest(
        str(SAMPLES / "hello"),
        out_dir=str(tmp_path_factory.mktemp("runtime-licences")),
        formats=(BundleFormat.DIR,),
        obtain=ObtainOptions(mode="dynamic", python=runtime.executable),
    )
    run = bundle(request, Context(environ=environ))
    assert run.manifest is not None
    return run.manifest


def test_every_library_of_a_debian_python_bundle_has_a_licence_text(
    hello_bundle: BundleManifest,
) -> None:
    assert without_text(_tree(hello_bundle), hello_bundle.name) == []


def test_cpython_from_debian_carries_its_debian_copyright(hello_bundle: BundleManifest) -> None:
    tree = _tree(hello_bundle)
    texts = [(tree / text).read_bytes() for text in _entry(tree, "CPython")]
    assert debian_copyright("libpython3.11") in texts


def test_each_vendored_library_carries_the_copyright_of_its_debian_package(
    hello_bundle: BundleManifest,
) -> None:
    tree = _tree(hello_bundle)
    entries = read_index(tree)
    wrong: dict[str, str] = {}
    for soname in hello_bundle.vendored:
        (entry,) = covering(entries, f"lib/{soname}")
        owns = any(path.endswith(f"/{soname}") for path in debian_package_files(entry.component))
        texts = [(tree / text).read_bytes() for text in entry.texts]
        if not owns or texts != [debian_copyright(entry.component)]:
            wrong[soname] = entry.component
    expected = {"libssl.so.3", "libcrypto.so.3", "libsqlite3.so.0", "libffi.so.8"}
    assert (wrong, expected - set(hello_bundle.vendored)) == ({}, set())


def test_every_library_of_a_runtime_bundle_has_a_licence_text(
    runtime_bundle: BundleManifest,
) -> None:
    assert without_text(_tree(runtime_bundle), runtime_bundle.name) == []


def test_a_runtime_bundle_credits_the_libraries_inside_its_modules(
    runtime_bundle: BundleManifest,
) -> None:
    tree = _tree(runtime_bundle)
    entries = read_index(tree)
    credited = {
        library
        for library, module in RUNTIME_LIBRARIES.items()
        for entry in entries
        if entry.component.split(" ")[0] == library
        and entry.texts
        and any(f"/lib-dynload/{module}." in path for path in entry.files)
    }
    cpython = (tree / _entry(tree, "CPython")[0]).read_text()
    assert (credited, "Python Software Foundation" in cpython) == (set(RUNTIME_LIBRARIES), True)


def test_a_wheel_from_requirements_carries_its_licence_file(
    hello_binary: Path, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("markupsafe==3.0.2\n")
    manifest = bundle_tree(
        str(hello_binary),
        str(tmp_path / "out"),
        environ=bundle_environ(),
        formats=(BundleFormat.DIR,),
        content=ContentOptions(requirements=str(requirements)),
    )
    tree = _tree(manifest)
    (licence,) = (tree / "lib").rglob("MarkupSafe-3.0.2.dist-info/LICENSE.txt")
    texts = [(tree / text).read_bytes() for text in _entry(tree, "MarkupSafe")]
    assert (texts, without_text(tree, manifest.name)) == ([licence.read_bytes()], [])


def test_every_library_of_an_aarch64_bundle_from_a_target_root_has_a_licence_text(
    arm64_root: Path, tmp_path: Path
) -> None:
    done = run_packager(
        "bundle", str(SAMPLES / "hello"), "--target", "aarch64-unknown-linux-gnu",
        "--python-home", str(arm64_root), "--out", str(tmp_path), environ=cargo_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert without_text(tmp_path / "hello", "hello") == []


@pytest.fixture(scope="module")
def unknown_library_program(
    hello_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """The hello program made to need a library compiled here, which no Debian package
    ships, and the environment its loader finds the library in."""
    work = tmp_path_factory.mktemp("unknown-library")
    source = work / "unknown.c"
    source.write_text("int pkgtest_no_licence(void) { return 1; }\n")
    subprocess.run(
        ["cc", "-shared", "-fPIC", f"-Wl,-soname,{UNKNOWN_LIBRARY}", "-o",
         str(work / UNKNOWN_LIBRARY), str(source)],
        check=True,
    )  # fmt: skip
    program = work / hello_binary.name
    shutil.copy2(hello_binary, program)
    subprocess.run(["patchelf", "--add-needed", UNKNOWN_LIBRARY, str(program)], check=True)
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    environ["LD_LIBRARY_PATH"] = str(work)
    return program, environ


def test_strict_licenses_refuses_a_library_without_licence_and_writes_nothing(
    unknown_library_program: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    program, environ = unknown_library_program
    out = tmp_path / "out"
    done = run_packager(
        "bundle", str(program), "--python", DEBIAN_PYTHON, "--out", str(out),
        "--format", "dir,tar.gz", "--strict-licenses", environ=environ,
    )  # fmt: skip
    errors = [line for line in done.stderr.splitlines() if line.startswith("packager: error")]
    written = sorted(os.listdir(out)) if out.exists() else []
    named = [line for line in errors if f"lib/{UNKNOWN_LIBRARY}" in line]
    assert (done.returncode, len(errors), len(named), written) == (2, 1, 1, [])


def test_without_strict_licenses_a_library_without_licence_is_a_note(
    unknown_library_program: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    program, environ = unknown_library_program
    done = run_packager(
        "bundle", str(program), "--python", DEBIAN_PYTHON, "--out", str(tmp_path),
        environ=environ,
    )  # fmt: skip
    notes = [line for line in done.stdout.splitlines() if line.startswith("note: no licence")]
    named = [line for line in notes if f"lib/{UNKNOWN_LIBRARY}" in line]
    assert (done.returncode, len(notes), len(named)) == (0, 1, 1), done.stderr


def test_json_names_the_index_and_the_library_without_licence(
    unknown_library_program: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    program, environ = unknown_library_program
    done = run_packager(
        "bundle", str(program), "--python", DEBIAN_PYTHON, "--out", str(tmp_path), "--json",
        environ=environ,
    )  # fmt: skip
    document = json.loads(done.stdout)
    validate(document, "bundle-v1.json")
    expected = {"index": "licenses/README", "unlicensed": [f"lib/{UNKNOWN_LIBRARY}"]}
    assert document["bundle"]["licenses"] == expected


def _members(path: Path, fmt: BundleFormat) -> list[str]:
    """The paths an output holds, without a leading ./ or /."""
    if fmt is BundleFormat.ZIP:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    if fmt is BundleFormat.TAR_GZ:
        with tarfile.open(path) as archive:
            return archive.getnames()
    if fmt is BundleFormat.INSTALLER:
        with tempfile.TemporaryDirectory() as prefix:
            subprocess.run(
                ["sh", str(path), "--prefix", prefix, "--bin-dir", f"{prefix}/bin"],
                capture_output=True, check=True,
            )  # fmt: skip
            return [p.relative_to(prefix).as_posix() for p in Path(prefix).rglob("*")]
    command = {
        BundleFormat.TAR_ZST: ["tar", "--zstd", "-tf", str(path)],
        BundleFormat.DEB: ["dpkg-deb", "--fsys-tarfile", str(path)],
        BundleFormat.RPM: ["rpm", "-qlp", str(path)],
    }[fmt]
    done = subprocess.run(command, capture_output=True, check=True)
    if fmt is BundleFormat.DEB:
        done = subprocess.run(["tar", "-t"], input=done.stdout, capture_output=True, check=True)
    return [line.lstrip("./") for line in done.stdout.decode().splitlines()]


ARCHIVES = (
    BundleFormat.TAR_GZ,
    BundleFormat.TAR_ZST,
    BundleFormat.ZIP,
    BundleFormat.INSTALLER,
    BundleFormat.DEB,
    BundleFormat.RPM,
)


@pytest.mark.parametrize("fmt", ARCHIVES, ids=[fmt.value for fmt in ARCHIVES])
def test_each_output_carries_the_licences_folder(
    hello_bundle: BundleManifest, fmt: BundleFormat
) -> None:
    members = _members(output_path(hello_bundle, fmt), fmt)
    name = hello_bundle.name
    installed = fmt in (BundleFormat.INSTALLER, BundleFormat.DEB, BundleFormat.RPM)
    prefix = f"opt/{name}/" if installed else f"{name}/"
    texts = {text for entry in read_index(_tree(hello_bundle)) for text in entry.texts}
    assert texts and {f"{prefix}{text}" for text in texts} <= set(members)


def test_the_deb_installs_a_debian_copyright_file_with_the_index(
    hello_bundle: BundleManifest,
) -> None:
    deb = output_path(hello_bundle, BundleFormat.DEB)
    unpacked = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    copyright_file = subprocess.run(
        ["tar", "-xO", f"./usr/share/doc/{hello_bundle.name}/copyright"],
        input=unpacked, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    index = (_tree(hello_bundle) / "licenses" / "README").read_text()
    points = f"/opt/{hello_bundle.name}/licenses/" in copyright_file
    assert (copyright_file.endswith(index), points) == (True, True)


def test_the_rpm_marks_the_licence_texts_as_licence_files(hello_bundle: BundleManifest) -> None:
    rpm = output_path(hello_bundle, BundleFormat.RPM)
    marked = subprocess.run(["rpm", "-qLp", str(rpm)], capture_output=True, check=True, text=True)
    name = hello_bundle.name
    texts = {text for entry in read_index(_tree(hello_bundle)) for text in entry.texts}
    expected = {f"/opt/{name}/{text}" for text in texts} | {f"/opt/{name}/licenses/README"}
    assert expected <= set(marked.stdout.splitlines())


@pytest.fixture(scope="module")
def numpy_bundle(hello_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hello program with numpy from --requirements (its wheel vendors OpenBLAS and
    the GCC Fortran runtime in numpy.libs/), bundled with --strict-licenses."""
    work = tmp_path_factory.mktemp("numpy-licences")
    requirements = work / "requirements.txt"
    requirements.write_text("numpy\n")
    manifest = bundle_tree(
        str(hello_binary),
        str(work / "out"),
        environ=bundle_environ(),
        formats=(BundleFormat.DIR,),
        content=ContentOptions(requirements=str(requirements), strict_licenses=True),
    )
    return _tree(manifest)


def test_every_library_of_a_numpy_bundle_has_a_licence_text(numpy_bundle: Path) -> None:
    libraries = list(numpy_bundle.glob("lib/python3.11/*-packages/numpy.libs/*.so*"))
    assert (len(libraries) >= 2, without_text(numpy_bundle, numpy_bundle.name)) == (True, [])


def test_numpy_s_texts_credit_the_openblas_and_gfortran_it_vendors(numpy_bundle: Path) -> None:
    (library,) = [
        path.relative_to(numpy_bundle).as_posix()
        for path in numpy_bundle.glob("lib/python3.11/*-packages/numpy.libs/*openblas*")
    ]
    (entry,) = covering(read_index(numpy_bundle), library)
    text = "\n".join((numpy_bundle / name).read_text(errors="replace") for name in entry.texts)
    assert (entry.component.split()[0], "OpenBLAS" in text, "gfortran" in text) == (
        "numpy",
        True,
        True,
    )
