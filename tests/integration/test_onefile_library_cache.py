"""Compiled modules of a onefile program load from checked copies in the user's cache.

The first start copies each compiled module it loads, and each library such a module
needs, out of the archive into $XDG_CACHE_HOME/packager/onefile-lib/DIGEST/NAME; later
starts load those copies with nothing to read, check or inflate. A copy that is damaged,
writable by others or not a file of its own is made again; a cache folder others can
write to is not used; --no-library-cache loads from memory on every start and writes
nothing. Real subjects: samples/extmods (the stdlib's
_decimal, _ctypes with the libffi it carries, _json and markupsafe's _speedups) built
with --onefile, run as they are and under strace.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from packager.bundle.onefile.builder import OnefileResult
from tests.integration.test_onefile import EXTMODS, _build, _require_tools

pytestmark = pytest.mark.integration

# What samples/extmods loads as it starts: its compiled modules (typing's _typing among
# them) and the library _ctypes needs.
LOADED = ("_decimal.", "_ctypes.", "_json.", "_speedups.", "_typing.", "libffi.so.8")


@pytest.fixture(scope="module")
def extmods(tmp_path_factory: pytest.TempPathFactory, markupsafe_site: Path) -> OnefileResult:
    _require_tools()
    out = tmp_path_factory.mktemp("onefile") / "extmods"
    return _build("extmods", out, site_dirs=[str(markupsafe_site)])


@pytest.fixture(scope="module")
def extmods_from_memory(
    tmp_path_factory: pytest.TempPathFactory, markupsafe_site: Path
) -> OnefileResult:
    _require_tools()
    out = tmp_path_factory.mktemp("onefile") / "extmods"
    return _build("extmods", out, site_dirs=[str(markupsafe_site)], library_cache=False)


def _start(program: str, cache: Path, *strace: str) -> subprocess.CompletedProcess[str]:
    """Run `program` with `cache` as XDG_CACHE_HOME (under `strace` when given); it must
    import every module of samples/extmods."""
    environ = {"PATH": os.environ["PATH"], "HOME": str(cache.parent), "XDG_CACHE_HOME": str(cache)}
    completed = subprocess.run(
        [*strace, program], env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    imported = [
        line.split()[1] for line in completed.stdout.splitlines() if line.startswith("imported ")
    ]
    assert (completed.returncode, imported) == (0, list(EXTMODS)), completed.stderr
    return completed


def _copies(cache: Path) -> dict[str, Path]:
    """The copies in `cache`, by file name."""
    return {path.name: path for path in (cache / "packager" / "onefile-lib").glob("*/*")}


def _members(program: str) -> dict[str, bytes]:
    """The archive's compiled modules and libraries that samples/extmods loads, by file name."""
    with zipfile.ZipFile(program) as archive:
        return {
            name.rpartition("/")[2]: archive.read(name)
            for name in archive.namelist()
            if name.rpartition("/")[2].startswith(LOADED)
            and (name.endswith(".so") or ".so." in name)
        }


def _traced(program: str, cache: Path, log: Path) -> str:
    """What strace saw of a start's memory files and opened files."""
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed (apt-get install strace)")
    _start(program, cache, "strace", "-f", "-qq", "-e", "trace=memfd_create,openat", "-o", str(log))
    return log.read_text()


def test_the_first_start_leaves_a_private_copy_of_each_module_it_loads(
    extmods: OnefileResult, tmp_path: Path
) -> None:
    _start(extmods.path, tmp_path / "cache")
    copies = _copies(tmp_path / "cache")
    members = _members(extmods.path)
    assert len(members) == len(LOADED)
    assert {name: path.read_bytes() for name, path in copies.items()} == members
    assert {stat.S_IMODE(path.stat().st_mode) for path in copies.values()} == {0o500}


def test_a_later_start_loads_the_copies_and_makes_no_memory_file(
    extmods: OnefileResult, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _start(extmods.path, cache)
    trace = _traced(extmods.path, cache, tmp_path / "strace.log")
    opened = [path for path in _copies(cache).values() if f'"{path}"' in trace]
    assert ("memfd_create" in trace, len(opened)) == (False, len(LOADED)), trace


def _truncated(path: Path) -> None:
    path.chmod(0o700)
    path.write_bytes(path.read_bytes()[:4096])
    path.chmod(0o500)


def _linked_elsewhere(path: Path) -> None:
    elsewhere = path.parent.parent / "elsewhere"
    shutil.copy2(path, elsewhere)
    path.unlink()
    path.symlink_to(elsewhere)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncated,
    "writable by the group": lambda path: path.chmod(0o520),
    "a symlink": _linked_elsewhere,
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_copy_that_cannot_be_trusted_is_made_again(
    extmods: OnefileResult, tmp_path: Path, damage: str
) -> None:
    cache = tmp_path / "cache"
    _start(extmods.path, cache)
    copy = next(path for name, path in _copies(cache).items() if name.startswith("_decimal."))
    DAMAGE[damage](copy)
    _start(extmods.path, cache)
    status = copy.lstat()
    assert (stat.S_ISREG(status.st_mode), stat.S_IMODE(status.st_mode), copy.read_bytes()) == (
        True,
        0o500,
        _members(extmods.path)[copy.name],
    )


def test_a_copys_folder_replaced_by_a_link_removes_nothing_through_it(
    extmods: OnefileResult, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _start(extmods.path, cache)
    folder = next(
        path for name, path in _copies(cache).items() if name.startswith("_decimal.")
    ).parent
    elsewhere = tmp_path / "documents"
    elsewhere.mkdir()
    (elsewhere / "letter.txt").write_text("kept\n")
    for copy in folder.iterdir():
        copy.chmod(0o700)
        copy.unlink()
    folder.rmdir()
    folder.symlink_to(elsewhere)
    _start(extmods.path, cache)
    assert sorted(path.name for path in elsewhere.iterdir()) == ["letter.txt"]


def test_no_library_cache_loads_from_memory_and_writes_nothing(
    extmods_from_memory: OnefileResult, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    trace = _traced(extmods_from_memory.path, cache, tmp_path / "strace.log")
    made = (
        sorted(str(path.relative_to(cache)) for path in cache.rglob("*")) if cache.exists() else []
    )
    assert (trace.count("memfd_create("), made) == (len(LOADED), []), trace


def test_a_cache_folder_others_can_write_to_is_not_used(
    extmods: OnefileResult, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _start(extmods.path, cache)
    (cache / "packager" / "onefile-lib").chmod(0o777)
    trace = _traced(extmods.path, cache, tmp_path / "strace.log")
    assert trace.count("memfd_create(") == len(LOADED), trace


NOBODY = 65534


def test_a_program_started_with_raised_privileges_loads_no_copies(
    extmods: OnefileResult,
) -> None:
    """Run by `nobody` with a file capability (AT_SECURE): the caller's cache would let
    them choose the code a privileged program loads, so none is made or used."""
    for tool in ("setcap", "setpriv"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (apt-get install libcap2-bin util-linux)")
    with tempfile.TemporaryDirectory(prefix="packager-secure-") as area:
        os.chmod(area, 0o755)
        program = os.path.join(area, "extmods")
        shutil.copy2(extmods.path, program)
        subprocess.run(["setcap", "cap_net_bind_service+ep", program], check=True)
        cache = Path(area, "cache")
        cache.mkdir()
        os.chown(cache, NOBODY, NOBODY)
        environ = {"PATH": os.environ["PATH"], "HOME": area, "XDG_CACHE_HOME": str(cache)}
        completed = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", program],
            env=environ, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        imported = [
            line.split()[1]
            for line in completed.stdout.splitlines()
            if line.startswith("imported ")
        ]
        made = sorted(str(path.relative_to(cache)) for path in cache.rglob("*"))
    assert (imported, made) == (list(EXTMODS), []), completed.stderr
