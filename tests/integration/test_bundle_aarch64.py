"""aarch64 bundles: built against Debian's arm64 root, run under qemu-user, no Python visible.

`packager bundle --target aarch64-unknown-linux-gnu --python-home ROOT` lays out the
arm64 libpython, the root's stdlib and the arm64 system libraries it needs; with
--onefile it appends the root's stdlib to a static arm64 program (Debian's
libpython3.11-pic.a). `verify` runs the folder, the tar.zst and the onefile program
under qemu-user in the bubblewrap sandbox, where the host's Python is hidden and only
the root's C library is visible (not its Python). Without a binfmt_misc handler for
aarch64 on the host, verify registers qemu in a user namespace: Linux 6.7 or later.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packager.binary.elf_head import elf_files_under, elf_machine
from packager.binary.inspect import inspect_paths
from packager.binary.model import BinaryFormat, LinkMode
from packager.bundle import verify_bundle
from packager.core.errors import UsageError
from packager.verify.model import VerifyResult
from packager.verify.sandbox import SANDBOX_AREA
from tests.helpers import REPO, SAMPLES, cargo_env, run_packager

pytestmark = pytest.mark.integration

TARGET = "aarch64-unknown-linux-gnu"
CRATES = {"hello": SAMPLES / "hello", "extmods": SAMPLES / "extmods"}
CRATES["guideapp"] = REPO / "tests" / "crates" / "guideapp"
HELLO_LINES = [
    '{"hello": "world", "version": [3, 11, 2]}',
    "hello, packager, from Rust",
    "2 + 3 = 5",
]
DYNLOAD = "lib/python3.11/lib-dynload"


@pytest.fixture(scope="module")
def bundles(arm64_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hello, extmods and guideapp bundled for aarch64 as a folder and a tar.zst each,
    in OUT/NAME/ (each bundle writes its own SHA256SUMS)."""
    out = tmp_path_factory.mktemp("aarch64-bundles")
    for name, crate in CRATES.items():
        result = run_packager(
            "bundle", str(crate), "--target", TARGET, "--python-home", str(arm64_root),
            "--format", "dir,tar.zst", "--out", str(out / name), environ=cargo_env(),
        )  # fmt: skip
        assert result.returncode == 0, f"{name}:\n{result.stderr[-3000:]}"
        assert (out / name / name).is_dir() and (out / name / f"{name}.tar.zst").is_file()
        onefile = run_packager(
            "bundle", str(crate), "--onefile", "--target", TARGET, "--python-home",
            str(arm64_root), "--out", str(out / name / "onefile"), environ=cargo_env(),
        )  # fmt: skip
        assert onefile.returncode == 0, f"{name} --onefile:\n{onefile.stderr[-3000:]}"
    return out


def _verify(subject: Path, root: Path, *args: str, cwd: str | None = None) -> VerifyResult:
    return verify_bundle(str(subject), args, environ=dict(os.environ), sysroot=str(root), cwd=cwd)


def _stand_in_site(tmp_path: Path) -> Path:
    """A pure-Python stand-in markupsafe in a folder that extmods is given as its argument:
    imported only if the argument reaches the program intact (it has a space in it)."""
    site = tmp_path / "site dir"
    (site / "markupsafe").mkdir(parents=True)
    (site / "markupsafe" / "__init__.py").write_text("")
    (site / "markupsafe" / "_speedups.py").write_text("")
    return site


@pytest.mark.parametrize("output", ["hello", "hello.tar.zst", "onefile/hello"])
def test_hello_runs_under_qemu_with_the_targets_python(
    output: str, bundles: Path, arm64_root: Path
) -> None:
    result = _verify(bundles / "hello" / output, arm64_root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3.11.2 ") and lines[1:] == HELLO_LINES
    assert any(path.startswith("/usr/lib/python3") for path in result.hidden)


def test_extmods_loads_the_shipped_arm64_decimal_and_passes_arguments_and_status(
    bundles: Path, arm64_root: Path, tmp_path: Path
) -> None:
    site = _stand_in_site(tmp_path)
    found = _verify(
        bundles / "extmods" / "extmods.tar.zst", arm64_root, str(site), cwd=str(tmp_path)
    )
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[:2] == ["python 3.11.2 (64-bit)", "decimal 3.30"]
    decimal = f"{SANDBOX_AREA}/extmods/{DYNLOAD}/_decimal.cpython-311-aarch64-linux-gnu.so"
    assert f"imported _decimal from {decimal}" in lines
    assert f"imported markupsafe._speedups from {site}/markupsafe/_speedups.py" in lines
    # The program's exit status comes back through the launcher and qemu.
    missing = _verify(bundles / "extmods" / "extmods", arm64_root, "/nonexistent site")
    assert missing.returncode == 1, missing.stderr
    assert "could not import: markupsafe._speedups" in missing.stderr


def test_extmods_onefile_passes_arguments_and_status(
    bundles: Path, arm64_root: Path, tmp_path: Path
) -> None:
    program = bundles / "extmods" / "onefile" / "extmods"
    site = _stand_in_site(tmp_path)
    found = _verify(program, arm64_root, str(site), cwd=str(tmp_path))
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[:2] == ["python 3.11.2 (64-bit)", "decimal 3.30"]
    assert [line for line in lines if line.startswith("imported _decimal from ")]
    assert f"imported markupsafe._speedups from {site}/markupsafe/_speedups.py" in lines
    missing = _verify(program, arm64_root, "/nonexistent site")
    assert missing.returncode == 1, missing.stderr
    assert "could not import: markupsafe._speedups" in missing.stderr


@pytest.mark.parametrize(
    ("output", "prefix"),
    [("guideapp.tar.zst", f"{SANDBOX_AREA}/guideapp"), ("onefile/guideapp", SANDBOX_AREA)],
)
def test_guideapp_in_the_guides_style_runs_from_the_bundle(
    output: str, prefix: str, bundles: Path, arm64_root: Path
) -> None:
    # The crate never flushes Python's output: the start-up code linked in does.
    result = _verify(bundles / "guideapp" / output, arm64_root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "hello, guide, from Rust",
        "decimal 3.30",
        f"prefix {prefix}",
    ]


def test_inspect_reads_the_bundled_programs_as_aarch64_embeds(bundles: Path) -> None:
    modules = {"hello": "PyInit_hello_native", "extmods": "PyInit_extmods_native"}
    modules["guideapp"] = "PyInit_greeter"
    for name, module in modules.items():
        tree = bundles / name / name
        [report] = inspect_paths([str(tree / "bin" / name)], environ={}, jobs=1).binaries
        assert (report.format, report.arch) == (BinaryFormat.ELF, "aarch64")
        assert report.link_mode is LinkMode.DYNAMIC and report.libpython is not None
        assert report.libpython.name == "libpython3.11.so.1.0"
        assert report.libpython.resolved_path == str(tree / "lib" / "libpython3.11.so.1.0")
        assert module in report.symbols.pyinit
        [onefile] = inspect_paths([str(bundles / name / "onefile" / name)], environ={}).binaries
        assert (onefile.arch, onefile.link_mode) == ("aarch64", LinkMode.STATIC)
        assert onefile.payload is not None and onefile.payload.problem is None
        assert module in onefile.symbols.pyinit


def test_every_shipped_elf_file_is_arm64_and_from_the_root(bundles: Path) -> None:
    tree = bundles / "extmods" / "extmods"
    machines = {path: elf_machine(path) for path in elf_files_under(str(tree))}
    assert machines and set(machines.values()) == {"aarch64"}, machines
    dynload = sorted(os.listdir(tree / DYNLOAD))
    assert "_ssl.cpython-311-aarch64-linux-gnu.so" in dynload
    assert not [name for name in dynload if "x86_64" in name]
    # System libraries the root's modules need travel with the bundle, arm64 copies.
    assert {"libssl.so.3", "libcrypto.so.3", "libffi.so.8"} <= set(os.listdir(tree / "lib"))


def test_verify_over_a_root_without_a_c_library_says_what_to_pass(
    bundles: Path, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="root has no aarch64 C library") as caught:
        _verify(bundles / "hello" / "hello", tmp_path)
    assert caught.value.fix is not None and "--python-home" in caught.value.fix


def test_the_cli_verify_runs_the_bundle_with_sysroot(bundles: Path, arm64_root: Path) -> None:
    result = run_packager(
        "verify",
        "--sysroot",
        str(arm64_root),
        str(bundles / "hello" / "hello.tar.zst"),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "hello, packager, from Rust" in result.stdout
    # Without --sysroot, Debian's arm64 C library (fetched once) serves.
    made = run_packager("verify", str(bundles / "hello" / "hello"), timeout=300)
    assert made.returncode == 0, made.stderr
    assert "hello, packager, from Rust" in made.stdout
