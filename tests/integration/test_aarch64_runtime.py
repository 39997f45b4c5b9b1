"""aarch64 with nothing but the target: the portable runtime for aarch64, glibc 2.17.

With no --python-home and no variable, `bundle --target aarch64-unknown-linux-gnu` takes
the aarch64 portable runtime from the cache, built on first use (zig cross-compiles
CPython and its libraries; the x86_64 runtime of the same CPython is the build Python;
qemu runs the result once to check its modules). The programs link with zig for glibc
2.17, so objdump finds no symbol above GLIBC_2.17 in anything shipped, and each output
runs under qemu over Debian 11's userland with Debian 11's arm64 C library
(`verify --distro bullseye`), which no Debian 12 build would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from packager.binary.elf_head import elf_files_under, elf_machine
from packager.python.portable import list_runtimes
from tests.helpers import REPO, SAMPLES, cargo_env, run_packager
from tests.portable_helpers import objdump_floor

pytestmark = pytest.mark.integration

TARGET = "aarch64-unknown-linux-gnu"
CRATES = {"hello": SAMPLES / "hello", "guideapp": REPO / "tests" / "crates" / "guideapp"}
EXPECTED = {
    "hello": [
        '{"hello": "world", "version": [3, 11, 2]}',
        "hello, packager, from Rust",
        "2 + 3 = 5",
    ],
    "guideapp": ["hello, guide, from Rust", "decimal 3.30"],
}
FLOOR = (2, 17)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each crate bundled for aarch64 with no --python-home: OUT/NAME/{NAME, NAME.tar.zst}
    and OUT/NAME/onefile/NAME."""
    out = tmp_path_factory.mktemp("aarch64-runtime")
    for name, crate in CRATES.items():
        folder = run_packager(
            "bundle", str(crate), "--target", TARGET, "--format", "dir,tar.zst",
            "--out", str(out / name), "--json", environ=cargo_env(), timeout=2400,
        )  # fmt: skip
        assert folder.returncode == 0, f"{name}:\n{folder.stderr[-3000:]}"
        assert json.loads(folder.stdout)["bundle"]["runtime"].endswith("@2.17/aarch64")
        onefile = run_packager(
            "bundle", str(crate), "--onefile", "--target", TARGET,
            "--out", str(out / name / "onefile"), environ=cargo_env(),
        )  # fmt: skip
        assert onefile.returncode == 0, f"{name} --onefile:\n{onefile.stderr[-3000:]}"
    return out


def _loadable(path: str) -> bool:
    """Whether an ELF file is a program or shared library (e_type 2 or 3), not an object."""
    with open(path, "rb") as stream:
        return int.from_bytes(stream.read(18)[16:18], "little") in (2, 3)


def _above_floor(paths: list[str]) -> dict[str, tuple[int, int] | None]:
    floors = {
        path: objdump_floor(Path(path), "aarch64-linux-gnu-objdump")
        for path in paths
        if _loadable(path)
    }
    return {path: floor for path, floor in floors.items() if floor is not None and floor > FLOOR}


def test_the_aarch64_runtime_needs_nothing_above_glibc_2_17(bundles: Path) -> None:
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "packager")
    # The one bundle takes: list_runtimes puts the newest recipe first, and an entry an
    # older packager built may be in the cache beside it.
    runtime = next(r for r in list_runtimes(cache) if r.arch == "aarch64" and r.version == "3.11.2")
    files = list(elf_files_under(runtime.prefix))
    assert len(files) > 60 and {elf_machine(path) for path in files} == {"aarch64"}
    assert _above_floor(files) == {}


@pytest.mark.parametrize("name", sorted(CRATES))
def test_no_shipped_file_needs_more_than_glibc_2_17(name: str, bundles: Path) -> None:
    files = [*elf_files_under(str(bundles / name / name)), str(bundles / name / "onefile" / name)]
    assert {elf_machine(path) for path in files} == {"aarch64"}
    assert _above_floor(files) == {}


@pytest.mark.parametrize("output", ["{0}/{0}", "{0}/{0}.tar.zst", "{0}/onefile/{0}"])
@pytest.mark.parametrize("name", sorted(CRATES))
def test_each_output_runs_on_debian_11_arm64(name: str, output: str, bundles: Path) -> None:
    subject = bundles / output.format(name)
    completed = run_packager("verify", "--distro", "bullseye", "--json", str(subject))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    lines = json.loads(completed.stdout)["verify"]["stdout"].splitlines()
    assert [line for line in lines if not line.startswith(("3.11.2 (", "prefix "))] == (
        EXPECTED[name]
    )


def test_verify_names_the_c_library_the_program_ran_with(bundles: Path) -> None:
    completed = run_packager(
        "verify", "--distro", "bullseye", "--json", str(bundles / "hello" / "hello.tar.zst")
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout)["verify"]["notes"] == [
        "ran under qemu-aarch64 with Debian bullseye's arm64 C library"
    ]
