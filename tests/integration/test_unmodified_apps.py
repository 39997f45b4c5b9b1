"""PyO3 programs written with no thought of packager, bundled as they are, in every mode.

The crates in tests/crates start Python the ways real programs do: PyO3 0.29's guide
(append_to_inittab!, Python::initialize(), Python::attach), PyO3 0.20's auto-initialize
feature with Python::with_gil, and PyO3 0.30 reading its script from the working
directory and leaving with std::process::exit. None of them flushes Python's output.
Each is built, bundled (a folder and a onefile program) and run in the sandbox where no
Python is visible, its stdout a pipe: what Python printed must be there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.bundle import (
    BundleFormat,
    BundleRequest,
    BundleRun,
    ContentOptions,
    ObtainOptions,
    OnefileOptions,
    bundle,
    verify_bundle,
)
from packager.core.context import Context
from packager.python.interpreters import Interpreter
from packager.verify.sandbox import SANDBOX_AREA, sandbox_argv
from tests.helpers import REPO, cargo_build, cargo_env, run_packager

pytestmark = pytest.mark.integration

CRATES = REPO / "tests" / "crates"
DEBIAN_PYTHON = "/usr/bin/python3.11"
GUIDE_LINES = ["hello, guide, from Rust", "decimal 3.30"]
SCRIPT = """import os, sys, threading
print("from", os.path.basename(os.getcwd()), "with", os.environ.get("PACKAGER_APP_DIR"))
# A thread that keeps running Python when the program exits: the exit still flushes.
threading.Thread(target=lambda: [None for _ in iter(int, 1)], daemon=True).start()
print("last line, then std::process::exit")
"""


def _require_tools() -> None:
    for tool in ("cargo", "bwrap", "strip", "patchelf"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    if not os.path.exists(DEBIAN_PYTHON):
        pytest.fail(f"{DEBIAN_PYTHON} (a static-capable Debian Python) is not installed")


def _bundle(
    crate: str, out: Path, *, notes: list[str] | None = None, **request: object
) -> BundleRun:
    """The bundle pipeline on tests/crates/`crate`, as `packager bundle` runs it."""
    _require_tools()
    context = Context(environ=cargo_env(), note=(notes if notes is not None else []).append)
    source = str(CRATES / crate)
    return bundle(BundleRequest(source, out_dir=str(out), **request), context)  # type: ignore[arg-type]


def _folder(run: BundleRun) -> Path:
    assert run.manifest is not None
    (folder,) = (o.path for o in run.manifest.outputs if o.format is BundleFormat.DIR)
    return Path(folder)


def _onefile(run: BundleRun) -> Path:
    assert run.onefile is not None
    return Path(run.onefile.path)


def _verified(subject: Path, *, cwd: str | None = None) -> list[str]:
    """The lines the program printed to its stdout (a pipe) in the sandbox."""
    result = verify_bundle(str(subject), environ=os.environ, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def _run_without_launcher(tree: Path, name: str) -> list[str]:
    """Run the bundle's bin/NAME itself, no launcher and no PYTHONHOME, moved elsewhere."""
    area = tree.parent / "moved"
    shutil.copytree(tree, area / "moved bundle")
    argv, _ = sandbox_argv(shutil.which("bwrap") or "bwrap", str(area), os.environ)
    program = f"{SANDBOX_AREA}/moved bundle/bin/{name}"
    done = subprocess.run([*argv, program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


# -- PyO3 0.29, as its guide embeds Python --------------------------------------------


def test_guide_style_program_runs_from_a_folder_and_on_its_own(tmp_path: Path) -> None:
    dynamic = ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON)
    run = _bundle("guideapp", tmp_path, obtain=dynamic)
    assert run.manifest is not None and run.manifest.link_mode.value == "dynamic"
    tree = _folder(run)
    assert _verified(tree) == [*GUIDE_LINES, f"prefix {SANDBOX_AREA}/guideapp"]
    # Without the launcher, the program finds the bundle around it by itself.
    assert _run_without_launcher(tree, "guideapp") == [
        *GUIDE_LINES,
        f"prefix {SANDBOX_AREA}/moved bundle",
    ]


def test_guide_style_program_runs_as_one_file(tmp_path: Path) -> None:
    run = _bundle("guideapp", tmp_path, onefile=True, obtain=ObtainOptions(python=DEBIAN_PYTHON))
    assert _verified(_onefile(run)) == [*GUIDE_LINES, f"prefix {SANDBOX_AREA}"]


def test_the_same_program_built_with_plain_cargo_loses_its_output(
    tmp_path: Path, shared_cpython: Interpreter
) -> None:
    # What the start-up code fixes: PyO3 never finalizes Python, so a pipe gets nothing.
    python, libdir = shared_cpython.path, shared_cpython.libdir
    binary = cargo_build(CRATES / "guideapp", cargo_env(PYO3_PYTHON=python), "guideapp")
    environ = {
        k: v for k, v in cargo_env(LD_LIBRARY_PATH=libdir).items() if k != "PYTHONUNBUFFERED"
    }
    done = subprocess.run([str(binary)], env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


# -- PyO3 0.20, auto-initialize and with_gil, linked statically ----------------------------


def test_auto_initialize_program_links_statically_in_a_folder_and_one_file(
    tmp_path: Path,
) -> None:
    notes: list[str] = []
    static = ObtainOptions(mode="static", python=DEBIAN_PYTHON)
    run = _bundle("autoinit", tmp_path / "dir", notes=notes, obtain=static)
    assert run.manifest is not None and run.manifest.link_mode.value == "static"
    assert not list((_folder(run) / "lib").glob("libpython*"))
    assert any("PyO3 0.20.3's `auto-initialize`" in note for note in notes), notes
    expected = json.dumps({"pyo3": "0.20", "python": [3, 11]})
    assert _verified(_folder(run)) == [expected, f"prefix {SANDBOX_AREA}/autoinit"]
    assert _run_without_launcher(_folder(run), "autoinit")[0] == expected
    single = _bundle(
        "autoinit", tmp_path / "one", onefile=True, obtain=ObtainOptions(python=DEBIAN_PYTHON)
    )
    assert _verified(_onefile(single)) == [expected, f"prefix {SANDBOX_AREA}"]


# -- PyO3 0.18, auto-initialize, a package from PyPI ---------------------------------------


def test_pyo3_0_18_app_with_a_pypi_package_runs_from_a_folder(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests\n", encoding="utf-8")
    run = _bundle(
        "requestsapp",
        tmp_path / "out",
        obtain=ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON),
        content=ContentOptions(requirements=str(requirements)),
    )
    assert _verified(_folder(run)) == ["requests 2", "url https://example.org/a%20b"]


# -- PyO3 0.30, a script from the working directory, std::process::exit -------------------


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "app source"
    app.mkdir()
    (app / "python_program.py").write_text(SCRIPT)
    return app


def test_program_reading_its_working_directory_starts_in_the_app_folder(
    tmp_path: Path, app_dir: Path
) -> None:
    out = tmp_path / "dist"
    done = run_packager(
        "bundle", str(CRATES / "cwdscript"), "--mode", "dynamic", "--python", DEBIAN_PYTHON,
        "--app-dir", str(app_dir), "--workdir", "app", "--out", str(out), "--verify",
        environ=cargo_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{SANDBOX_AREA}/cwdscript/app" in done.stdout
    app = f"{SANDBOX_AREA}/cwdscript/app"
    expected = [f"from app with {app}", "last line, then std::process::exit"]
    assert _verified(out / "cwdscript") == expected
    verified = run_packager("verify", str(out / "cwdscript"), "--cwd", "app", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["verify"]["stdout"].splitlines() == expected


def test_the_program_without_its_launcher_starts_in_the_workdir_too(
    tmp_path: Path, app_dir: Path
) -> None:
    out = tmp_path / "dist"
    done = run_packager(
        "bundle", str(CRATES / "cwdscript"), "--mode", "dynamic", "--python", DEBIAN_PYTHON,
        "--app-dir", str(app_dir), "--workdir", "app", "--out", str(out),
        environ=cargo_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # bin/cwdscript reads python_program.py before Python starts: from the app folder.
    assert _run_without_launcher(out / "cwdscript", "cwdscript") == [
        f"from app with {SANDBOX_AREA}/moved bundle/app",
        "last line, then std::process::exit",
    ]


def test_one_file_program_runs_in_the_directory_verify_is_given(
    tmp_path: Path, app_dir: Path
) -> None:
    run = _bundle(
        "cwdscript",
        tmp_path / "dist",
        onefile=True,
        obtain=ObtainOptions(python=DEBIAN_PYTHON),
        content=ContentOptions(app_dir=str(app_dir)),
    )
    lines = _verified(_onefile(run), cwd=str(app_dir))
    inside = f"{SANDBOX_AREA}/cwdscript/app"  # the app files inside the program's archive
    assert lines == [f"from {app_dir.name} with {inside}", "last line, then std::process::exit"]


# -- A workspace: the program in one member, its Python module in another ---------------

WORKSPACE_LINES = ["triple 42", "decimal 0.3"]


def test_workspace_member_is_bundled_as_a_folder_and_one_file(tmp_path: Path) -> None:
    member = ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON, package="ws-app")
    run = _bundle("workspace", tmp_path / "dir", obtain=member, formats=(BundleFormat.DIR,))
    assert run.manifest is not None and run.manifest.name == "ws-app"
    assert _verified(_folder(run)) == WORKSPACE_LINES
    # Linked statically, with the auto-initialize feature its library member turns on.
    one = ObtainOptions(python=DEBIAN_PYTHON, package="ws-app")
    notes: list[str] = []
    single = _bundle("workspace", tmp_path / "one", onefile=True, obtain=one, notes=notes)
    assert any("`auto-initialize`" in note for note in notes), notes
    assert _verified(_onefile(single)) == WORKSPACE_LINES


def test_workspace_build_reports_the_module_of_the_library_member(tmp_path: Path) -> None:
    _require_tools()
    root = str(CRATES / "workspace")
    ambiguous = run_packager("build", root, "--python", DEBIAN_PYTHON, environ=cargo_env())
    assert ambiguous.returncode == 2
    assert "several programs: ws-app, ws-tool" in ambiguous.stderr
    assert "-p ws-app" in ambiguous.stderr and "Traceback" not in ambiguous.stderr
    built = run_packager(
        "build", root, "-p", "ws-app", "--python", DEBIAN_PYTHON, "--json", "-q",
        environ=cargo_env(),
    )  # fmt: skip
    assert built.returncode in (0, 1), built.stderr[-3000:]
    report = json.loads(built.stdout)
    assert report["crate"] == str(CRATES / "workspace" / "app")
    assert report["dependency_modules"] == ["wscalc (ws-calc)"]
    (binary,) = report["binaries"]
    # cargo builds a member into the workspace's target directory, where the config is too.
    target = Path(cargo_env()["CARGO_TARGET_DIR"])
    assert Path(binary["path"]).parent.parent == target
    assert Path(report["config_file"]).is_relative_to(target)
    wrong = run_packager("build", root, "-p", "ws-app", "--bin", "ws-tool", environ=cargo_env())
    assert wrong.returncode == 2 and "has no binary 'ws-tool'" in wrong.stderr


# -- importlib.metadata and importlib.resources inside a onefile program ------------------

METADATA_SCRIPT = """import importlib.metadata as md, importlib.resources as res
print("version", md.version("Demo-Pkg"), md.distribution("demo_pkg").metadata["Summary"])
print("scripts", [ep.value for ep in md.entry_points(group="console_scripts")])
print("files", sorted(str(f) for f in md.files("demo-pkg") if f.suffix == ".txt"))
print("data", res.files("demo_pkg").joinpath("data/greeting.txt").read_text().strip())
print("dists", sorted(d.metadata["Name"] for d in md.distributions()))
"""


def _site_with_a_distribution(site: Path) -> Path:
    """A site directory holding what pip installs of a distribution: the package, a data
    file, and its .dist-info with metadata, entry points and RECORD."""
    package = site / "demo_pkg"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("def main():\n    print('demo')\n")
    (package / "data" / "greeting.txt").write_text("hello from a data file\n")
    info = site / "demo_pkg-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Demo-Pkg\nVersion: 1.2.3\nSummary: A demo\n"
    )
    (info / "entry_points.txt").write_text("[console_scripts]\ndemo = demo_pkg:main\n")
    (info / "top_level.txt").write_text("demo_pkg\n")
    (info / "RECORD").write_text(
        "demo_pkg/__init__.py,,\ndemo_pkg/data/greeting.txt,,\n"
        "demo_pkg-1.2.3.dist-info/METADATA,,\ndemo_pkg-1.2.3.dist-info/RECORD,,\n"
    )
    return site


def test_one_file_program_reads_package_metadata_and_data_files(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "python_program.py").write_text(METADATA_SCRIPT)
    site = _site_with_a_distribution(tmp_path / "site")
    run = _bundle(
        "cwdscript",
        tmp_path / "dist",
        onefile=True,
        obtain=ObtainOptions(python=DEBIAN_PYTHON),
        onefile_options=OnefileOptions(site_dirs=(str(site),)),
    )
    assert _verified(_onefile(run), cwd=str(app)) == [
        "version 1.2.3 A demo",
        "scripts ['demo_pkg:main']",
        "files ['demo_pkg/data/greeting.txt']",
        "data hello from a data file",
        "dists ['Demo-Pkg']",
    ]
