"""A onefile program's data files are read through the checked reader, like its code.

importlib.resources and importlib.metadata's files() read a package's data from inside
the program; a byte changed in such a file (the build-time hash no longer matches) stops
the program with exit status 70 and the payload's message, as a changed module does,
instead of being read as it is.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from packager.bundle import ObtainOptions, OnefileOptions
from packager.verify.sandbox import verify_bundle
from tests.integration.bundle_helpers import DEBIAN_PYTHON
from tests.integration.test_unmodified_apps import _bundle, _onefile, _site_with_a_distribution
from tests.onefile_tamper import flip_bit, member_span

pytestmark = pytest.mark.integration

READS = {
    "resources": 'import importlib.resources as r\nprint(r.files("demo_pkg")'
    '.joinpath("data/greeting.txt").read_text().strip())\n',
    "metadata": "import importlib.metadata as m\n"
    'print([f for f in m.files("demo-pkg") if f.suffix == ".txt"][0].read_text().strip())\n',
}


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """For each way of reading: (the onefile program, its app folder)."""
    work = tmp_path_factory.mktemp("resources")
    site = _site_with_a_distribution(work / "site")
    built = {}
    for how, script in READS.items():
        app = work / f"app-{how}"
        app.mkdir()
        (app / "python_program.py").write_text(script)
        run = _bundle(
            "cwdscript", work / f"dist-{how}", onefile=True,
            obtain=ObtainOptions(python=DEBIAN_PYTHON),
            onefile_options=OnefileOptions(site_dirs=(str(site),)),
        )  # fmt: skip
        built[how] = (_onefile(run), app)
    return built


def _damaged(program: Path, into: Path) -> Path:
    data = program.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        [member] = [n for n in archive.namelist() if n.endswith("data/greeting.txt")]
    start, end = member_span(data, member)
    copy = into / program.name
    copy.write_bytes(flip_bit(data, (start + end) // 2))
    os.chmod(copy, 0o755)
    return copy


@pytest.mark.parametrize("how", sorted(READS))
def test_a_data_file_reads_whole(how: str, programs: dict[str, tuple[Path, Path]]) -> None:
    program, app = programs[how]
    result = verify_bundle(str(program), environ=dict(os.environ), cwd=str(app))
    assert (result.returncode, result.stdout.splitlines()) == (0, ["hello from a data file"])


@pytest.mark.parametrize("how", sorted(READS))
def test_a_changed_data_file_stops_the_program(
    how: str, programs: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    program, app = programs[how]
    result = verify_bundle(str(_damaged(program, tmp_path)), environ=dict(os.environ), cwd=str(app))
    assert (result.returncode, "payload is damaged" in result.stderr) == (70, True), result.stderr
    assert "hello from a data file" not in result.stdout
