"""Benchmark for `packager bundle --onefile`: start-up time and file size of the hello app.

    python3 bench/bench_onefile.py [--runs N] [--all-modules] [--compress] [--pyinstaller]

Targets (issue #5): the onefile hello starts in <= 1.0x the time of
`python3 -I -S hello.py` (the same script, run by the same Debian python3.11), and the
file is <= 60% of PyInstaller --onefile's 16.5 MB for the same app (9.9 MB). Also checks
that a run writes nothing to an empty TMPDIR. The folder bundle of the same static build
is timed against the same script too, through its launcher (<= 1.2x, bench_bundle.py's
target) and as bin/hello alone, which finds the bundle by itself. With --pyinstaller,
PyInstaller is installed from PyPI into a throw-away venv and measured too (skipped if
that fails).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import compare, wall_time

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from packager.bundle import (  # noqa: E402
    BundleRequest,
    ObtainOptions,
    OnefileOptions,
    bundle,
)
from packager.core.context import Context  # noqa: E402

STATIC_PYTHON = "/usr/bin/python3.11"
PYINSTALLER_SIZE = 16.5e6
SIZE_TARGET = 0.6 * PYINSTALLER_SIZE

# The app's own module is Rust; the Python run gets the same functions in Python.
NATIVE_STUB = """\
import sys, types
hello_native = types.ModuleType("hello_native")
hello_native.greet = lambda name: f"hello, {name}, from Rust"
hello_native.add = lambda a, b: a + b
sys.modules["hello_native"] = hello_native
"""


def python_script(directory: Path) -> Path:
    """hello.py: the sample's app/main.py with its Rust module stubbed in Python."""
    source = (REPO / "samples" / "hello" / "app" / "main.py").read_text(encoding="utf-8")
    script = directory / "hello.py"
    script.write_text(NATIVE_STUB + source, encoding="utf-8")
    return script


def nothing_extracted(program: Path, work: Path) -> bool:
    """Run the program with an empty read-only TMPDIR; True if it ran and left it empty."""
    empty = work / "empty-tmp"
    empty.mkdir()
    empty.chmod(0o555)
    environ = {**os.environ, "TMPDIR": str(empty)}
    completed = subprocess.run([str(program)], env=environ, capture_output=True, check=False)
    return completed.returncode == 0 and not any(empty.iterdir())


def pyinstaller_onefile(script: Path, work: Path) -> Path | None:
    """PyInstaller --onefile of `script`, built in a throw-away venv; None if unavailable."""
    venv = work / "pyinstaller-venv"
    python = venv / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "pyinstaller"],
        [str(python), "-m", "PyInstaller", "--onefile", "--noconfirm", "--log-level", "ERROR",
         "--distpath", str(work / "dist"), "--workpath", str(work / "build"),
         "--specpath", str(work), str(script)],
    ]  # fmt: skip
    for step in steps:
        if subprocess.run(step, capture_output=True, check=False).returncode != 0:
            print(f"pyinstaller: skipped ({' '.join(step[:4])} failed)")
            return None
    return work / "dist" / script.stem


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--all-modules", action="store_true", help="carry the whole stdlib")
    parser.add_argument("--compress", action="store_true", help="deflate the module archive")
    parser.add_argument("--pyinstaller", action="store_true", help="also measure PyInstaller")
    options = parser.parse_args()
    if not os.path.exists(STATIC_PYTHON):
        raise SystemExit(f"{STATIC_PYTHON} is needed: it has the static libpython")
    environ = dict(os.environ)
    environ.setdefault("CARGO_TARGET_DIR", str(REPO / "target" / "test-cargo"))
    work = Path(tempfile.mkdtemp(prefix="bench-onefile-"))
    try:
        request = BundleRequest(
            str(REPO / "samples" / "hello"),
            out_dir=str(work),
            obtain=ObtainOptions(python=STATIC_PYTHON),
            onefile=True,
            onefile_options=OnefileOptions(
                only_needed=not options.all_modules, compress=options.compress
            ),
        )
        result = bundle(request, Context(environ=environ)).onefile
        assert result is not None
        script = python_script(work)
        program = Path(result.path)
        within = compare(
            "start-up (hello)",
            [str(program)],
            [STATIC_PYTHON, "-I", "-S", str(script)],
            "python3 -I -S hello.py",
            runs=options.runs,
            target=1.0,
        )
        size_ok = result.size <= SIZE_TARGET
        print(
            f"size: {result.size / 1e6:.2f} MB (program {result.executable_size / 1e6:.2f} MB "
            f"+ modules {result.archive_size / 1e6:.2f} MB, {result.archive_members} members), "
            f"{result.size / PYINSTALLER_SIZE:.0%} of PyInstaller's 16.5 MB "
            f"(target <= 60%) {'ok' if size_ok else 'OVER TARGET'}"
        )
        folder = bundle(
            BundleRequest(
                str(REPO / "samples" / "hello"),
                out_dir=str(work / "folder"),
                obtain=ObtainOptions(python=STATIC_PYTHON),
            ),
            Context(environ=environ),
        ).manifest
        assert folder is not None
        tree = work / "folder" / folder.name
        folder_within = compare(
            "start-up (hello, folder bundle, launcher)",
            [str(tree / folder.launcher)],
            [STATIC_PYTHON, "-I", "-S", str(script)],
            "python3 -I -S hello.py",
            runs=options.runs,
            target=1.2,
        )
        compare(
            "start-up (hello, folder bundle, bin/hello alone)",
            [str(tree / folder.binary)],
            [STATIC_PYTHON, "-I", "-S", str(script)],
            "python3 -I -S hello.py",
            runs=options.runs,
            target=1.2,
        )
        clean = nothing_extracted(program, work)
        print(f"TMPDIR after a run: {'untouched' if clean else 'WRITTEN TO'}")
        if options.pyinstaller:
            frozen = pyinstaller_onefile(script, work)
            if frozen is not None:
                wall_time([str(frozen)])
                print(f"pyinstaller: {frozen.stat().st_size / 1e6:.2f} MB")
                compare(
                    "start-up vs PyInstaller",
                    [str(program)],
                    [str(frozen)],
                    "PyInstaller --onefile",
                    runs=options.runs,
                    target=1.0,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if within and folder_within and size_ok and clean else 1


if __name__ == "__main__":
    sys.exit(main())
