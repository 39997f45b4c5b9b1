"""Benchmarks for `packager bundle` against PyInstaller and the bare interpreter, same run.

    python3 bench/bench_bundle.py [--runs N] [--pyinstaller VERSION]

Builds samples/hello in release mode with `packager bundle samples/hello`, installs
PyInstaller from PyPI into a throwaway venv, and builds the same hello app (a script that
prints a JSON line with the standard library's json) with --onedir and --onefile.
Targets (issue: bundle performance), each printed with its ratio:
- start-up of the bundle  <= 1/3 PyInstaller --onedir, <= 1/10 --onefile,
  <= 1.2x python3 -I -S hello.py  (median of interleaved runs, after a warm-up)
- unpacked bundle  <= 40% of the --onedir folder;  tar.zst  <= 50% of the --onefile file
- bundling time, cargo excluded (an already-built binary, warm cache)
  <= 1.5x  tar --zstd -cf of the resulting tree
Needs network access to PyPI, cargo, zstd, and `pip install .` of this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import compare, compare_values, packager_command

REPO = Path(__file__).resolve().parent.parent
HELLO = REPO / "samples" / "hello"
# The same imports and output as the sample's app, for PyInstaller and the interpreter.
SCRIPT = """import json, sys
print(sys.version)
print(json.dumps({"hello": "world", "version": list(sys.version_info[:3])}))
"""
MIB = 2**20


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (what the unpacked bundle occupies)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def timed(argv: list[str], environ: dict[str, str] | None = None) -> float:
    """Seconds one run of `argv` takes; fails loudly on a non-zero exit."""
    start = time.perf_counter()
    completed = subprocess.run(argv, env=environ, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{completed.stderr[-3000:]}")
    return elapsed


def bundle(
    target: str, out: Path, environ: dict[str, str], extra: tuple[str, ...] = ()
) -> tuple[float, dict[str, object]]:
    """Time `packager bundle TARGET` into a fresh `out`; (seconds, the JSON manifest)."""
    out.mkdir()
    argv = [*packager_command(), "bundle", target, "--name", "hello", "--out", str(out)]
    argv += ["--format", "dir,tar.zst", "--json", *extra]
    start = time.perf_counter()
    completed = subprocess.run(argv, env=environ, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"packager bundle failed:\n{completed.stderr[-3000:]}")
    manifest: dict[str, object] = json.loads(completed.stdout)["bundle"]
    return elapsed, manifest


def pyinstaller_builds(python: str, script: Path, work: Path, version: str | None) -> Path:
    """Install PyInstaller into a venv under `work` and build `script` both ways."""
    venv = work / "pyi-venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    requirement = f"pyinstaller=={version}" if version else "pyinstaller"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", requirement], check=True)
    found = subprocess.run(
        [str(venv / "bin" / "pyinstaller"), "--version"], capture_output=True, text=True
    )
    print(f"PyInstaller {found.stdout.strip()} (venv of {python})")
    for mode in ("onedir", "onefile"):
        seconds = timed(
            [
                str(venv / "bin" / "pyinstaller"),
                f"--{mode}",
                "--noconfirm",
                "--log-level",
                "WARN",
                "--distpath",
                str(work / f"pyi-{mode}"),
                "--workpath",
                str(work / f"pyi-build-{mode}"),
                "--specpath",
                str(work / f"pyi-spec-{mode}"),
                str(script),
            ]
        )
        print(f"PyInstaller --{mode}: built in {seconds:.2f} s")
    return work


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--pyinstaller", help="PyInstaller version to install (default: latest)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-bundle-"))
    # A cache of our own, so the first bundle of a binary below starts cold.
    environ = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}
    try:
        seconds, manifest = bundle(str(HELLO), work / "built", environ)
        binary = str(manifest["source_binary"])
        print(f"packager bundle samples/hello (cargo release build + cold cache): {seconds:.2f} s")
        environ["XDG_CACHE_HOME"] = str(work / "cache-2")
        cold, _ = bundle(binary, work / "cold", environ)
        warm_runs = [bundle(binary, work / f"warm-{run}", environ)[0] for run in range(5)]
        warm = statistics.median(warm_runs)
        tree, archive = work / "warm-0" / "hello", work / "warm-0" / "hello.tar.zst"
        tar_argv = ["tar", "--zstd", "-cf", str(work / "peer.tar.zst"), "-C", str(tree.parent)]
        tar_seconds = statistics.median(timed([*tar_argv, "hello"]) for _ in range(5))
        print(f"bundling an already-built binary with a cold cache: {cold:.2f} s")
        results = [
            compare_values(
                "bundling time (dir + tar.zst, warm cache)",
                warm,
                tar_seconds,
                "tar --zstd -cf of the tree",
                unit="s",
                target=1.5,
            )
        ]
        script = work / "hello.py"
        script.write_text(SCRIPT)
        python = str(manifest["interpreter"])
        pyinstaller_builds(python, script, work, options.pyinstaller)
        onedir = work / "pyi-onedir" / "hello"
        onefile = work / "pyi-onefile" / "hello"
        results.append(
            compare_values(
                "unpacked size",
                tree_bytes(tree) / MIB,
                tree_bytes(onedir) / MIB,
                "PyInstaller --onedir",
                unit="MiB",
                target=0.4,
            )
        )
        results.append(
            compare_values(
                "archive size",
                archive.stat().st_size / MIB,
                onefile.stat().st_size / MIB,
                "PyInstaller --onefile",
                unit="MiB",
                target=0.5,
            )
        )
        ours = [str(tree / "hello")]
        for name, peer, peer_name, target in (
            ("start-up vs onedir", [str(onedir / "hello")], "PyInstaller --onedir", 1 / 3),
            ("start-up vs onefile", [str(onefile)], "PyInstaller --onefile", 0.1),
            ("start-up vs python", [python, "-I", "-S", str(script)], "python3 -I -S", 1.2),
        ):
            results.append(compare(name, ours, peer, peer_name, runs=options.runs, target=target))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
