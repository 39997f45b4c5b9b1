"""Every packager module loads on the oldest Python the project supports (3.11.0).

Debian 12's /usr/bin/python3.11 is 3.11.2: syntax or a standard-library name that
arrived later (3.12's, or a 3.11.x point release's) fails here, not on a user's machine.
The full suite runs there in tests/fresh_debian.sh --tests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import click
import pytest

from tests.helpers import REPO

DEBIAN_PYTHON = "/usr/bin/python3.11"

_IMPORT_ALL = """
import importlib, pkgutil, sys
sys.path[:0] = sys.argv[1:]
import packager
walk = pkgutil.walk_packages(packager.__path__, "packager.")
names = [m.name for m in walk if not m.name.endswith(".__main__")]  # that one runs the CLI
for name in names:
    importlib.import_module(name)
print(sys.version_info[:3], len(names))
"""


def test_every_module_imports_on_debians_python() -> None:
    if not Path(DEBIAN_PYTHON).is_file():
        pytest.fail(f"{DEBIAN_PYTHON} is missing: install python3.11 (Debian)")
    # click is pure Python: the test environment's copy serves 3.11.2 too.
    dependencies = str(Path(click.__file__).parent.parent)
    done = subprocess.run(
        [DEBIAN_PYTHON, "-I", "-B", "-c", _IMPORT_ALL, str(REPO), dependencies],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    version, count = done.stdout.rsplit(")", 1)
    assert version.startswith("(3, 11,"), done.stdout
    assert int(count) > 50, done.stdout  # every module, not an empty walk
