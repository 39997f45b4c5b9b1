"""bin/NAME started without its launcher is as isolated as with it.

The launcher hides another Python's environment from the program; run directly, the
program's start-up code does the same (PYTHONHOME, PYTHONPATH with its sitecustomize,
PYTHONPLATLIBDIR, the user's site-packages with .pth files and usercustomize), and its
DT_RPATH (on the program, libpython, its modules and the libraries the bundle ships)
keeps LD_LIBRARY_PATH from swapping in the working directory's copy of any of them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, BundleManifest
from tests.integration.bundle_helpers import EXPECTED_LINES, output_path

pytestmark = pytest.mark.integration

HIJACK = "print('HIJACKED')\n"


def _hostile(case: str, tmp_path: Path) -> dict[str, str]:
    """The variables of one hostile environment, its files made under `tmp_path`."""
    home = tmp_path / "home"
    if case == "user site":
        site = home / ".local" / "lib" / "python3.11" / "site-packages"
        site.mkdir(parents=True)
        (site / "hijack.pth").write_text("import sys; print('HIJACKED')\n")
        (site / "usercustomize.py").write_text(HIJACK)
        return {"HOME": str(home)}
    if case == "PYTHONPATH":
        (tmp_path / "sitecustomize.py").write_text(HIJACK)
        return {"PYTHONPATH": str(tmp_path)}
    if case == "PYTHONHOME":  # another Python's home, here one with no stdlib at all
        (tmp_path / "other python").mkdir()
        return {"PYTHONHOME": str(tmp_path / "other python")}
    if case == "PYTHONPLATLIBDIR":
        return {"PYTHONPLATLIBDIR": "lib64"}
    # LD_LIBRARY_PATH with an empty entry, the working directory's lib/ holding a damaged
    # libpython, or a damaged copy of a library the bundle ships for libpython (expat):
    # loaded instead of the bundle's, the program would not start.
    damaged = "libexpat.so.1" if case == "a shipped library" else "libpython3.11.so.1.0"
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / damaged).write_bytes(b"not a library")
    return {"LD_LIBRARY_PATH": ":lib"}


@pytest.mark.parametrize(
    "case",
    [
        "user site",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONPLATLIBDIR",
        "LD_LIBRARY_PATH",
        "a shipped library",
    ],
)
def test_the_program_alone_ignores_another_pythons_environment(
    case: str, hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    tree = output_path(hello_bundle, BundleFormat.DIR)
    program = tree / "bin" / hello_bundle.name
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **_hostile(case, tmp_path)}
    ran = subprocess.run(
        [str(program), "x"], env=environ, cwd=tmp_path, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert (ran.returncode, "HIJACKED" in ran.stdout + ran.stderr) == (0, False), ran.stderr
    assert tuple(ran.stdout.splitlines()[2:4]) == EXPECTED_LINES
