"""How many processes `inspect` reads with: in-process for small work, a pool for large.

The walks run in a subprocess of their own, which reports whether it started a process
pool: the test process may have imported the pool module already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from packager.binary.inspect import pool_workers
from tests.helpers import REPO

pytestmark = pytest.mark.integration

LIBDIR = "/usr/lib/x86_64-linux-gnu"

_SCRIPT = """
import json, sys
from packager.binary.inspect import inspect_paths
from packager.reporting.inspect import to_document
jobs = None if sys.argv[1] == "auto" else int(sys.argv[1])
result = inspect_paths(sys.argv[2:], environ={}, jobs=jobs)
pool = "concurrent.futures.process" in sys.modules
print(json.dumps({"pool": pool, "result": to_document(result)}))
"""


def _inspect(jobs: str, paths: list[str]) -> tuple[bool, dict[str, object]]:
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, jobs, *paths],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout)
    return bool(report["pool"]), report["result"]


def _system_elf_files() -> list[str]:
    """The regular ELF files of the system's library directory, in walk order."""
    found = []
    for directory, subdirs, names in os.walk(LIBDIR):
        subdirs.sort()
        for name in sorted(names):
            path = Path(directory, name)
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(str(path))
    if len(found) < 500:
        pytest.fail(f"{LIBDIR} has only {len(found)} ELF files: install the Debian base system")
    return found


def test_pool_only_for_work_that_pays_for_it() -> None:
    assert pool_workers(0.0, 8) == 1
    assert pool_workers(0.2, 8) == 1  # less than a pool's start-up would save
    assert pool_workers(5.0, 1) == 1  # one core: nothing to share
    assert pool_workers(0.3, 8) == 2  # worth a pool, not worth eight forks
    assert pool_workers(5.0, 2) == 2  # never more processes than cores


def test_a_few_dozen_libraries_are_read_in_process() -> None:
    # A few hundredths of a second of reading, well below what a pool costs to start even
    # on a loaded machine (the choice follows the measured speed, so the count stays small).
    pooled, result = _inspect("auto", _system_elf_files()[:30])
    assert not pooled
    assert len(result["binaries"]) == 30  # type: ignore[arg-type]


def test_a_large_run_uses_a_pool_and_reports_the_same_as_one_process() -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.fail("this test needs a machine with at least 2 CPUs")
    files = _system_elf_files() * 2  # about a second of reading: worth a pool
    pooled, result = _inspect("auto", files)
    alone, single = _inspect("1", files)
    assert pooled and not alone
    assert result == single  # the in-process part and the pool's part, in order
