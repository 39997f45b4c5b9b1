"""`check` on real Windows wheels from PyPI: system DLLs and vendored DLLs are no finding.

The wheels (pywin32, numpy, pillow for CPython 3.11 on win_amd64) are downloaded once per
session with pip and unpacked as pip would install them into one site directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from packager.binary.checks import check_result
from packager.binary.inspect import inspect_paths
from packager.binary.model import InspectResult
from packager.binary.windows_dlls import KNOWN_DLLS, SYSTEM_DLLS

pytestmark = pytest.mark.integration

WHEELS = ("pywin32", "numpy", "pillow")


@pytest.fixture(scope="session")
def windows_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding the unpacked Windows wheels of WHEELS."""
    downloads = tmp_path_factory.mktemp("windows_wheels")
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
            *("--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.11"),
            *("--dest", str(downloads), *WHEELS),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"pip could not download {WHEELS}: {completed.stderr.strip()[-300:]}")
    site = tmp_path_factory.mktemp("windows_site")
    for wheel in sorted(downloads.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    return site


def _checked(*paths: Path) -> InspectResult:
    result = check_result(inspect_paths([str(p) for p in paths], environ={}, jobs=1))
    assert not result.errors, result.errors
    return result


def _unresolved(result: InspectResult) -> list[tuple[str, str]]:
    """(file name, DLL name) of every PKG103 finding."""
    found = []
    for report in result.binaries:
        for finding in report.findings:
            if finding.code == "PKG103":
                found.append((Path(report.path).name, finding.message.split()[2]))
    return found


def test_system_and_vendored_dlls_are_not_findings(windows_site: Path) -> None:
    result = _checked(windows_site)
    needed = [lib for report in result.binaries for lib in report.needed]
    # The subjects exercise what the rules are about: plenty of non-KnownDLL system
    # libraries, and DLLs vendored in numpy.libs and pywin32_system32.
    system = {lib.name.lower() for lib in needed if lib.system}
    assert len(system - KNOWN_DLLS) >= 20, sorted(system)
    vendored_in = {Path(lib.resolved_path).parent.name for lib in needed if lib.resolved_path}
    assert {"numpy.libs", "pywin32_system32"} <= vendored_in

    # Every module Python loads resolves; only a program started by Windows itself (not
    # by Python, so no package has added its folder yet) may still miss a pywin32 DLL.
    extension_suffixes = (".pyd", ".dll")
    for file_name, dll in _unresolved(result):
        assert not file_name.lower().endswith(extension_suffixes), (file_name, dll)
        assert dll.lower() not in SYSTEM_DLLS
        assert (windows_site / "pywin32_system32" / dll).is_file(), (file_name, dll)


def test_a_module_moved_away_from_its_vendored_folder_is_a_finding(
    windows_site: Path, tmp_path: Path
) -> None:
    in_place = _checked(windows_site / "numpy" / "_core", windows_site / "win32")
    openblas_users = [
        Path(report.path)
        for report in in_place.binaries
        if any(lib.name.lower().startswith("libscipy_openblas") for lib in report.needed)
    ]
    pywin32_users = [
        Path(report.path)
        for report in in_place.binaries
        if report.path.endswith(".pyd")
        and any(lib.name.lower().startswith("pywintypes") for lib in report.needed)
    ]
    assert openblas_users and pywin32_users
    moved = [shutil.copy(openblas_users[0], tmp_path), shutil.copy(pywin32_users[0], tmp_path)]

    unresolved = _unresolved(_checked(*map(Path, moved)))

    for module, prefix in (
        (openblas_users[0], "libscipy_openblas"),
        (pywin32_users[0], "pywintypes"),
    ):
        assert any(f == module.name and d.lower().startswith(prefix) for f, d in unresolved), (
            module.name,
            unresolved,
        )
