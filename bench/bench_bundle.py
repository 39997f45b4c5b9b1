"""Benchmarks for `packager bundle`, each printed as a ratio against a peer.

    python3 bench/bench_bundle.py [--runs N] [--binary PATH]

- start-up of the bundled hello sample (launcher)  vs  python3 -I -S hello.py
  (the same script, run by the interpreter whose stdlib the bundle ships)
- unpacked size and tar.zst size of the bundle
- bundling time (dir + tar.zst)  vs  tar --zstd -cf of the resulting tree
- PyInstaller --onedir of the same script, when `pyinstaller` is importable (not required)
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

from common import compare

REPO = Path(__file__).resolve().parent.parent
HELLO = REPO / "samples" / "hello"
# A script with the same imports and output as the sample's app, for interpreters to run.
SCRIPT = """import json, sys
print(sys.version)
print(json.dumps({"hello": "world", "version": list(sys.version_info[:3])}))
"""


def build_hello(target: Path) -> Path:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYO3_")}
    environ["CARGO_TARGET_DIR"] = str(target)
    subprocess.run(
        ["cargo", "build", "--quiet", "--manifest-path", str(HELLO / "Cargo.toml")],
        env=environ,
        check=True,
    )
    return target / "debug" / "hello"


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--binary", help="a built hello binary (default: cargo build it)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-bundle-"))
    try:
        binary = Path(options.binary) if options.binary else build_hello(work / "target")
        out = work / "out"
        out.mkdir()
        bundle_argv = [sys.executable, "-m", "packager", "bundle", str(binary), "--name", "hello"]
        bundle_argv += ["--format", "dir,tar.zst", "--out", str(out), "--json"]
        environ = {**os.environ, "PYTHONPATH": str(REPO)}
        start = time.perf_counter()
        completed = subprocess.run(bundle_argv, env=environ, capture_output=True, text=True)
        bundle_seconds = time.perf_counter() - start
        if completed.returncode != 0:
            raise SystemExit(completed.stderr)
        manifest = json.loads(completed.stdout)["bundle"]
        tree = out / "hello"
        tar_seconds = statistics.median(
            timed(["tar", "--zstd", "-cf", str(work / "peer.tar.zst"), "-C", str(out), "hello"])
            for _ in range(3)
        )
        print(
            f"bundling (dir + tar.zst): {bundle_seconds:.2f} s, tar --zstd -cf of the tree "
            f"{tar_seconds:.2f} s, ratio {bundle_seconds / tar_seconds:.1f}"
        )
        print(f"unpacked size: {tree_bytes(tree) / 2**20:.1f} MiB")
        print(f"tar.zst size: {(out / 'hello.tar.zst').stat().st_size / 2**20:.1f} MiB")
        script = work / "hello.py"
        script.write_text(SCRIPT)
        python = manifest["interpreter"]
        compare(
            "start-up",
            [str(tree / "hello")],
            [python, "-I", "-S", str(script)],
            "python3 -I -S",
            runs=options.runs,
            target=3.0,
        )
        if shutil.which("pyinstaller"):
            start = time.perf_counter()
            subprocess.run(
                [
                    "pyinstaller",
                    "--onedir",
                    "--noconfirm",
                    "--distpath",
                    str(work / "pyi"),
                    "--workpath",
                    str(work / "pyi-build"),
                    "--specpath",
                    str(work),
                    str(script),
                ],
                check=True,
                capture_output=True,
            )
            pyi_seconds = time.perf_counter() - start
            pyi_tree = work / "pyi" / "hello"
            print(
                f"PyInstaller --onedir: {pyi_seconds:.2f} s to build, "
                f"{tree_bytes(pyi_tree) / 2**20:.1f} MiB unpacked; packager/PyInstaller: "
                f"time {bundle_seconds / pyi_seconds:.2f}, "
                f"size {tree_bytes(tree) / tree_bytes(pyi_tree):.2f}"
            )
            compare(
                "start-up vs PyInstaller",
                [str(tree / "hello")],
                [str(pyi_tree / "hello")],
                "PyInstaller",
                runs=options.runs,
                target=2.0,
            )
        else:
            print("PyInstaller comparison skipped: pip install pyinstaller to include it")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
