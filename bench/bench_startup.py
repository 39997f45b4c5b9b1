"""Benchmark for a folder bundle's start-up against `python3 -I app.py` doing the same work.

    python3 bench/bench_startup.py [--runs N] [--python /usr/bin/python3.11]

Target (issue #21): a folder bundle starts in <= 1.0x the time of `python3 -I app.py`
(aim 0.8x), through its launcher and as bin/NAME alone, for two apps bundled with
`packager bundle` from the same interpreter that runs the peer:
- hello: samples/hello (json, four lines; the Rust module is stubbed in Python for the peer)
- heavy: samples/hello's crate, renamed heavy, with an app/main.py that imports json, ssl, sqlite3,
  decimal, ctypes and lzma and prints one line (built in a temporary copy of the crate)
Each round runs every command once, in turn (interleaved), after a warm-up; the medians
and the ratios to the peer are printed with the load average. `python3 -I -S -c pass`
is shown as the floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import wall_time

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from packager.bundle import BundleRequest, ObtainOptions, OnefileOptions, bundle  # noqa: E402
from packager.core.context import Context  # noqa: E402
from packager.outputs.model import BundleFormat  # noqa: E402

HELLO = REPO / "samples" / "hello"
# The app's own module is Rust; the Python run gets the same functions in Python.
NATIVE_STUB = """\
import sys, types
hello_native = types.ModuleType("hello_native")
hello_native.greet = lambda name: f"hello, {name}, from Rust"
hello_native.add = lambda a, b: a + b
sys.modules["hello_native"] = hello_native
"""
HEAVY_APP = """\
import ctypes, decimal, json, lzma, sqlite3, ssl, sys

print(json.dumps({"decimal": str(decimal.Decimal(1) / 8), "ssl": ssl.OPENSSL_VERSION[:7],
                  "sqlite": sqlite3.sqlite_version, "lzma": lzma.CHECK_CRC64,
                  "ctypes": ctypes.sizeof(ctypes.c_void_p), "python": sys.version[:6]}))
"""
TARGET = 1.0


def heavy_crate(work: Path) -> Path:
    """A copy of samples/hello's crate whose app/main.py is HEAVY_APP."""
    crate = work / "heavy"
    crate.mkdir()
    shutil.copytree(HELLO / "src", crate / "src")
    # A name of its own: cargo would take the hello build in a shared target directory
    # for this one (it hashes a path package's location relative to its workspace).
    manifest = (HELLO / "Cargo.toml").read_text(encoding="utf-8")
    (crate / "Cargo.toml").write_text(manifest.replace('name = "hello"', 'name = "heavy"', 1))
    lock = (HELLO / "Cargo.lock").read_text(encoding="utf-8")
    (crate / "Cargo.lock").write_text(lock.replace('name = "hello"', 'name = "heavy"', 1))
    (crate / "app").mkdir()
    (crate / "app" / "main.py").write_text(HEAVY_APP, encoding="utf-8")
    return crate


def folder_bundle(
    crate: Path,
    out: Path,
    python: str,
    environ: dict[str, str],
    *,
    formats: tuple[str, ...] = (),
    only_needed: bool = False,
) -> Path:
    """Bundle `crate` as a folder under `out` (and `formats`, e.g. tar.zst, beside it); the tree."""
    request = BundleRequest(
        str(crate),
        out_dir=str(out),
        formats=tuple(BundleFormat(name) for name in formats) or None,
        obtain=ObtainOptions(python=python),
        onefile_options=OnefileOptions(only_needed=only_needed),
    )
    manifest = bundle(request, Context(environ=environ)).manifest
    assert manifest is not None
    return out / manifest.name


def interleaved_medians(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median seconds of each command over `runs` rounds that run every command in turn.

    A first run of each warms the page cache and checks that it succeeds and prints what
    the others print (the floor prints nothing): a failing bundle would be timed doing less.
    """
    outputs = {}
    for name, argv in commands.items():
        completed = subprocess.run(argv, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise SystemExit(f"{name}: exit {completed.returncode}: {completed.stderr[-2000:]}")
        if completed.stdout:
            outputs[name] = completed.stdout
    if len(set(outputs.values())) != 1:
        raise SystemExit(f"the commands do not do the same work: {outputs}")
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(wall_time(argv))
    return {name: statistics.median(values) for name, values in times.items()}


def report(app: str, medians: dict[str, float], peer: str) -> bool:
    """Print each median and its ratio to the peer's; True if the bundle's are in target."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{app} (load average {load}):")
    within = True
    for name, seconds in medians.items():
        ratio = seconds / medians[peer]
        line = f"  {name:<28} {seconds * 1000:6.1f} ms  ratio {ratio:.2f}"
        if name.startswith("folder"):
            ok = ratio <= TARGET
            within = within and ok
            line += f" (target <= {TARGET:.3g}) {'ok' if ok else 'OVER TARGET'}"
        print(line)
    return within


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--python", default="/usr/bin/python3.11")
    options = parser.parse_args()
    # The peer runs with -I, which ignores PYTHON* variables; the bundles must not see them
    # either (PYTHONUNBUFFERED in a development shell would make them write line by line).
    for name in [name for name in os.environ if name.startswith("PYTHON")]:
        del os.environ[name]
    environ = dict(os.environ)
    environ.setdefault("CARGO_TARGET_DIR", str(REPO / "target" / "test-cargo"))
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        hello_script = work / "hello.py"
        hello_source = (HELLO / "app" / "main.py").read_text(encoding="utf-8")
        hello_script.write_text(NATIVE_STUB + hello_source, encoding="utf-8")
        heavy_script = work / "heavy.py"
        heavy_script.write_text(HEAVY_APP, encoding="utf-8")
        apps = (
            ("hello", HELLO, hello_script),
            ("heavy", heavy_crate(work), heavy_script),
        )
        trees = {
            app: folder_bundle(crate, work / app, options.python, environ) for app, crate, _ in apps
        }
        within = True
        for app, _, script in apps:
            tree = trees[app]
            peer = f"python -I {script.name}"
            commands = {
                "folder, launcher": [str(tree / tree.name)],
                "folder, bin/NAME alone": [str(tree / "bin" / tree.name)],
                peer: [options.python, "-I", str(script)],
                "floor: python -I -S -c pass": [options.python, "-I", "-S", "-c", "pass"],
            }
            within = report(app, interleaved_medians(commands, options.runs), peer) and within
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
