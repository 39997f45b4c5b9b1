"""The sdist and the wheel `python -m build` makes of a fresh copy of the checkout: what PyPI
would take, what they carry, and that the wheel installed alone bundles a program."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests import readme_blocks
from tests.helpers import REPO, SAMPLES, cargo_env
from tests.integration.bundle_helpers import EXPECTED_LINES

INSTALL_TEST_EXTRA = "install the test extra: pip install -e '.[test]' (build and twine)"
# What the sdist must carry of the checkout; the wheel carries templates/ as packager/templates/.
SDIST_FOLDERS = ("templates/", "packager/", "samples/hello/")


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed for {sys.executable}: {INSTALL_TEST_EXTRA}")


def _run(
    argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `argv` without stdin; its output, or a failure showing the end of what it wrote."""
    completed = subprocess.run(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=1800, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, (
        f"{' '.join(argv)} failed ({completed.returncode}):\n"
        f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    return completed


def _outside_environ() -> dict[str, str]:
    """The suite's cargo environment, without the test venv on PATH or in VIRTUAL_ENV."""
    environ = cargo_env()
    environ.pop("VIRTUAL_ENV", None)
    environ.pop("PYTHONUNBUFFERED", None)
    path = environ.get("PATH", "")
    environ["PATH"] = readme_blocks.without_folder(path, readme_blocks.running_venv_bin())
    return environ


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A fresh copy of the checkout, and the files it was made from."""
    copy = tmp_path_factory.mktemp("wheel-checkout")
    return copy, readme_blocks.copy_checkout(REPO, copy)


@pytest.fixture(scope="module")
def dists(
    checkout: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The (sdist, wheel) built once from the copy."""
    _require("build")
    out = tmp_path_factory.mktemp("dists")
    argv = [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out)]
    _run([*argv, str(checkout[0])])
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    assert (len(sdists), len(wheels)) == (1, 1), f"expected one sdist, one wheel: {list(out)}"
    return sdists[0], wheels[0]


def _wheel_version(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        version: str = Parser().parsestr(archive.read(metadata).decode())["Version"]
    return version


def _missing(expected: set[str], found: set[str], what: str) -> str:
    return f"{what} lacks {len(expected - found)} files: {sorted(expected - found)}"


def test_twine_check_passes_on_the_sdist_and_the_wheel(dists: tuple[Path, Path]) -> None:
    _require("twine")
    _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dists)])


def test_the_wheel_carries_every_template(
    checkout: tuple[Path, list[str]], dists: tuple[Path, Path]
) -> None:
    expected = {f"packager/{name}" for name in checkout[1] if name.startswith("templates/")}
    with zipfile.ZipFile(dists[1]) as archive:
        found = set(archive.namelist())
    assert expected and expected <= found, _missing(expected, found, dists[1].name)


def test_the_sdist_carries_the_package_the_templates_and_the_hello_sample(
    checkout: tuple[Path, list[str]], dists: tuple[Path, Path]
) -> None:
    expected = {name for name in checkout[1] if name.startswith(SDIST_FOLDERS)}
    with tarfile.open(dists[0]) as archive:
        found = {member.name.partition("/")[2] for member in archive.getmembers()}
    assert expected <= found, _missing(expected, found, dists[0].name)


@pytest.fixture(scope="module")
def installed(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv (of the Python running the suite) with only the wheel and what it needs."""
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    python = str(base) if base.is_file() else sys.executable
    environ = _outside_environ()
    _run([python, "-m", "venv", str(venv)], env=environ)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", str(dists[1])], env=environ)
    return venv


def test_the_installed_command_reports_the_wheels_version(
    installed: Path, dists: tuple[Path, Path], tmp_path: Path
) -> None:
    completed = _run(
        [str(installed / "bin" / "packager"), "--version"], env=_outside_environ(), cwd=tmp_path
    )
    assert completed.stdout.split() == ["packager,", "version", _wheel_version(dists[1])]


def test_the_installed_command_bundles_the_hello_sample_that_then_runs(
    installed: Path, checkout: tuple[Path, list[str]], tmp_path: Path
) -> None:
    crate = checkout[0] / SAMPLES.relative_to(REPO) / "hello"
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    environ = _outside_environ()
    packager = str(installed / "bin" / "packager")
    _run([packager, "bundle", str(crate), "--out", str(out)], env=environ, cwd=elsewhere)
    program = out / "hello" / "hello"
    completed = _run([str(program)], env=environ, cwd=elsewhere)
    lines = completed.stdout.splitlines()
    assert [line for line in EXPECTED_LINES if line not in lines] == [], completed.stdout
