"""A portable runtime in the cache is taken only when it can be used.

Linking a program against a runtime needs zig. When a runtime nobody asked for is in
the cache but zig is not installed, `bundle` must build against this machine's Python as
it did before the runtime appeared, and say why, rather than fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, SAMPLES, cargo_env
from tests.portable_helpers import built_runtime

pytestmark = pytest.mark.integration

# Runs the CLI as if the ziglang package were not installed (and zig is not on PATH).
_WITHOUT_ZIGLANG = (
    "import runpy, sys; sys.modules['ziglang'] = None; "
    "runpy.run_module('packager', run_name='__main__')"
)


def test_a_cached_runtime_without_zig_leaves_the_build_on_this_machines_python(
    tmp_path: Path,
) -> None:
    runtime = built_runtime("3.11")
    runtimes = tmp_path / "cache" / "packager" / "portable-runtimes"
    runtimes.mkdir(parents=True)
    (runtimes / Path(runtime.prefix).name).symlink_to(runtime.prefix)
    environ = cargo_env(XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    environ["PATH"] = os.pathsep.join(
        entry for entry in environ["PATH"].split(os.pathsep) if not Path(entry, "zig").exists()
    )
    argv = [sys.executable, "-c", _WITHOUT_ZIGLANG, "bundle", str(SAMPLES / "hello")]
    argv += ["--format", "dir", "--out", str(tmp_path / "out")]
    completed = subprocess.run(argv, env=environ, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "is in the cache, but zig was not found" in completed.stderr
