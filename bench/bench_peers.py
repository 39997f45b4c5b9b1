"""Benchmark of packager's outputs against PyInstaller, Nuitka and cx_Freeze (issue #21).

    python3 bench/bench_peers.py [--runs N] [--python /usr/bin/python3.11]
                                 [--peers pyinstaller,nuitka,cx_freeze]

Every output is made from the same interpreter (--python, Debian's python3.11 unless
given), for bench_startup.py's two apps, hello and heavy:
- packager bundles the crates (samples/hello, and its copy whose app is HEAVY_APP) through
  `packager.bundle`: a folder with its tar.zst (timed through its launcher and as bin/NAME
  alone) and a onefile program (default options), each again with --only-needed;
- the peers cannot build the Rust crate, so they freeze a plain Python script: hello's
  app/main.py with its Rust module stubbed in Python (NATIVE_STUB), and HEAVY_APP. Each is
  installed by pip, with the machine's own pip configuration, into a venv of that
  interpreter under $XDG_CACHE_HOME/packager/bench-peers/PEER (made once, then reused).
  cx_Freeze's freeze-core is built from source: its wheels carry an interpreter of their
  own, which would not be like with like;
- `python -I app.py` runs the same script (every ratio's base), `python -I -S -c pass` is
  the floor.
Start-up: wall time to exit, output discarded, medians of interleaved rounds after a
warm-up that checks every program prints what `python -I app.py` prints. Sizes (hello):
the folder's files, the folder as tar.zst (packager's own; the peers' with zstd -19) and
the onefile program. Rebuild (hello): the second run of the same build, caches warm,
median of up to 3 interleaved rounds; targets: packager's onefile <= 2x PyInstaller
--onefile's, its folder <= 1.0x PyInstaller --onedir's. A missed target is printed as
OVER TARGET; the exit status is 1 only when something failed to install, build or run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_startup import (
    HEAVY_APP,
    HELLO,
    NATIVE_STUB,
    folder_bundle,
    heavy_crate,
    interleaved_medians,
)
from common import packager_command

from packager.bundle import BundleRequest, ObtainOptions, OnefileOptions, bundle
from packager.bundle.onefile.builder import OnefileResult
from packager.core.context import Context

APPS = ("hello", "heavy")
BASE = "python -I app.py"
FLOOR = "python -I -S -c pass"
REBUILD_TARGETS = {"onefile": 2.0, "folder": 1.0}
# A peer's outputs of one script, by row name: the build command, the program it writes,
# and whether that program sits in a folder ("folder") or is the whole output ("onefile").
Made = dict[str, tuple[list[str], Path, str]]
Sizes = tuple[int | None, int | None, int | None]  # hello's folder, tar.zst and onefile bytes


class Failed(Exception):
    """A peer or a program that could not be installed, built or run."""


@dataclass
class Row:
    """One output: the program that runs each app, and where hello's sizes come from."""

    name: str
    programs: dict[str, list[str]]
    folder: Path | None = None  # hello's tree
    tar_zst: Path | None = None  # hello's tree as tar.zst; made with zstd -19 when None
    onefile: Path | None = None  # hello's single program
    rebuild: list[str] | None = None  # the command that built hello's


@dataclass
class Peer:
    """A tool to install into its venv, and the outputs it makes of one script."""

    title: str
    requirement: list[str]  # pip install's arguments
    module: str  # what `import` proves it installed
    outputs: Callable[[str, Path, Path], Made]


def log(line: str) -> None:
    """Print one line at once, whatever stdout is (a pipe buffers by default)."""
    print(line, flush=True)


def run(argv: list[str], what: str) -> float:
    """Run a build step; seconds it took. Raises Failed with its output's tail on failure."""
    start = time.perf_counter()
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
        raise Failed(f"{what}: exit {completed.returncode}: " + " | ".join(tail))
    return time.perf_counter() - start


def pyinstaller_outputs(python: str, script: Path, out: Path) -> Made:
    """PyInstaller --onedir and --onefile of `script`, work and dist folders kept."""
    made: Made = {}
    for kind in ("onedir", "onefile"):
        argv = [python, "-m", "PyInstaller", f"--{kind}", "--noconfirm", "--log-level", "ERROR",
                "--distpath", str(out / kind / "dist"), "--workpath", str(out / kind / "work"),
                "--specpath", str(out / kind), str(script)]  # fmt: skip
        dist = out / kind / "dist" / script.stem
        program = dist / script.stem if kind == "onedir" else dist
        made[f"PyInstaller {kind}"] = (argv, program, "folder" if kind == "onedir" else "onefile")
    return made


def nuitka_outputs(python: str, script: Path, out: Path) -> Made:
    """Nuitka --standalone and --onefile of `script`."""
    made: Made = {}
    for kind in ("standalone", "onefile"):
        argv = [python, "-m", "nuitka", f"--{kind}", "--assume-yes-for-downloads", "--quiet",
                "--remove-output", f"--output-dir={out / kind}",
                f"--output-filename={script.stem}", str(script)]  # fmt: skip
        if kind == "standalone":
            made["Nuitka standalone"] = (argv, out / kind / f"{script.stem}.dist" / script.stem,
                                         "folder")  # fmt: skip
        else:
            made["Nuitka onefile"] = (argv, out / kind / script.stem, "onefile")
    return made


def cx_freeze_outputs(python: str, script: Path, out: Path) -> Made:
    """cx_Freeze build_exe of `script`."""
    argv = [python, "-m", "cx_Freeze", "--script", str(script), "--target-dir", str(out / "exe"),
            "build_exe", "--silent"]  # fmt: skip
    return {"cx_Freeze build_exe": (argv, out / "exe" / script.stem, "folder")}


PEERS = {
    "pyinstaller": Peer("PyInstaller", ["pyinstaller"], "PyInstaller", pyinstaller_outputs),
    "nuitka": Peer("Nuitka", ["nuitka"], "nuitka", nuitka_outputs),
    "cx_freeze": Peer(
        "cx_Freeze", ["--no-binary", "freeze-core", "cx_Freeze"], "cx_Freeze", cx_freeze_outputs
    ),
}


def nuitka_missing(python: str) -> list[str]:
    """What Nuitka needs that the machine lacks, as what to install."""
    include = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    missing = [tool for tool in ("gcc", "patchelf") if shutil.which(tool) is None]
    if not include or not os.path.exists(os.path.join(include, "Python.h")):
        missing.append(f"{Path(python).name}-dev (Python.h)")
    return missing


def peer_python(key: str, peer: Peer, python: str, cache: Path) -> str:
    """The python of the peer's venv, made and pip-installed on first use."""
    venv = cache / key
    venv_python = venv / "bin" / "python"
    if not venv_python.exists():
        made = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True)
        if made.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            print(f"{python} -m venv failed: {made.stderr.strip()[-300:]}", file=sys.stderr)
            print("install python3-venv (python3.11-venv) and run again", file=sys.stderr)
            raise SystemExit(2)
    probe = [str(venv_python), "-c", f"import {peer.module}"]
    if subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        log(f"{peer.title}: pip install {' '.join(peer.requirement)} into {venv}")
        run([str(venv_python), "-m", "pip", "install", "--quiet", *peer.requirement],
            f"{peer.title}: pip install")  # fmt: skip
    version = subprocess.run(
        [str(venv_python), "-m", "pip", "show", peer.requirement[-1]],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    found = [line.split()[-1] for line in version.splitlines() if line.startswith("Version:")]
    log(f"{peer.title} {found[0] if found else '?'} in {venv}")
    return str(venv_python)


def peer_rows(key: str, python: str, scripts: dict[str, Path], work: Path) -> list[Row]:
    """Install the peer, build both apps with it; its rows. Raises Failed."""
    peer = PEERS[key]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv_python = peer_python(key, peer, python, cache / "packager" / "bench-peers")
    rows: dict[str, Row] = {}
    for app, script in scripts.items():
        made = peer.outputs(venv_python, script, work / key / app)
        for name, (argv, program, kind) in made.items():
            seconds = run(argv, f"{name} ({app})")
            if not program.exists():
                raise Failed(f"{name} ({app}): no {program} after the build")
            log(f"{name}: built {app} in {seconds:.1f} s")
            row = rows.setdefault(name, Row(name, {}))
            row.programs[app] = [str(program)]
            if app == "hello":
                row.folder = program.parent if kind == "folder" else None
                row.onefile = program if kind == "onefile" else None
                row.rebuild = argv
    return list(rows.values())


def packager_outputs(
    crate: Path, out: Path, python: str, environ: dict[str, str], *, only_needed: bool
) -> tuple[Path, OnefileResult]:
    """packager's folder (with its tar.zst) and onefile program of `crate` under `out`."""
    tree = folder_bundle(
        crate, out, python, environ, formats=("dir", "tar.zst"), only_needed=only_needed
    )
    request = BundleRequest(
        str(crate), out_dir=str(out / "onefile"), obtain=ObtainOptions(python=python),
        onefile=True, onefile_options=OnefileOptions(only_needed=only_needed),
    )  # fmt: skip
    result = bundle(request, Context(environ=environ)).onefile
    assert result is not None
    return tree, result


def packager_rows(
    python: str, work: Path, environ: dict[str, str]
) -> tuple[list[Row], dict[str, list[str]]]:
    """packager's folder (with its tar.zst) and onefile of both crates, as they are made by
    default and with --only-needed; the rows and the rebuilds."""
    crates = {"hello": HELLO, "heavy": heavy_crate(work)}
    binary = str(work / "hello-static")  # the onefile rebuild's input
    rows: list[Row] = []
    for suffix, only_needed in (("", False), (" --only-needed", True)):
        launcher = Row(f"packager folder{suffix}", {})
        alone = Row(f"packager bin/NAME{suffix}", {})
        onefile = Row(f"packager onefile{suffix}", {})
        for app, crate in crates.items():
            out = work / f"packager{suffix.strip()}" / app
            tree, result = packager_outputs(crate, out, python, environ, only_needed=only_needed)
            launcher.programs[app] = [str(tree / tree.name)]
            alone.programs[app] = [str(tree / "bin" / tree.name)]
            onefile.programs[app] = [result.path]
            if app == "hello":
                launcher.folder, launcher.tar_zst = tree, next(out.glob("*.tar.zst"))
                onefile.onefile = Path(result.path)
                # The next folder build (dynamic) replaces the static one at that path.
                shutil.copy2(result.source_binary, binary)
        rows += [launcher, alone, onefile]
    common = ["--python", python, "--force", "--out"]
    rebuilds = {
        "folder": [*packager_command(), "bundle", str(HELLO), *common, str(work / "re-dir")],
        "onefile": [*packager_command(), "bundle", binary, "--onefile", *common,
                    str(work / "re-onefile")],
    }  # fmt: skip
    return rows, rebuilds


def runnable(rows: list[Row], reference: dict[str, str]) -> tuple[list[Row], list[str]]:
    """The rows whose programs print what `python -I app.py` prints; the others' failures."""
    kept, failures = [], []
    for row in rows:
        for app, argv in row.programs.items():
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0 or done.stdout != reference[app]:
                failures.append(f"{row.name} ({app}): exit {done.returncode}, printed "
                                f"{done.stdout[-200:]!r} {done.stderr[-300:]!r}")  # fmt: skip
                break
        else:
            kept.append(row)
    return kept, failures


def startup(rows: list[Row], runs: int) -> dict[str, dict[str, float]]:
    """Median seconds of each row's program, per app, over interleaved rounds."""
    medians: dict[str, dict[str, float]] = {}
    for app in APPS:
        commands = {row.name: row.programs[app] for row in rows}
        for name, seconds in interleaved_medians(commands, runs).items():
            medians.setdefault(name, {})[app] = seconds
    return medians


def tree_bytes(folder: Path) -> int:
    """The apparent size of the files under `folder`, as `du --apparent-size -b` adds them."""
    return sum(
        (Path(root) / name).lstat().st_size
        for root, dirs, files in os.walk(folder)
        for name in files + [d for d in dirs if (Path(root) / d).is_symlink()]
    )


def tar_zst_bytes(folder: Path) -> int:
    """The size of `folder` as a tar.zst at zstd -19, written beside it."""
    archive = folder.parent / f"{folder.name}.tar.zst"
    run(["tar", "-I", "zstd -19 -T0 -q", "-cf", str(archive), "-C", str(folder.parent),
         folder.name], f"tar.zst of {folder}")  # fmt: skip
    return archive.stat().st_size


def sizes(row: Row) -> Sizes:
    """hello's folder, tar.zst and onefile bytes for a row (None: not this kind of output)."""
    if row.folder is None:
        return None, None, row.onefile.stat().st_size if row.onefile else None
    packed = row.tar_zst.stat().st_size if row.tar_zst else tar_zst_bytes(row.folder)
    return tree_bytes(row.folder), packed, None


def print_table(rows: list[Row], medians: dict[str, dict[str, float]]) -> dict[str, Sizes]:
    """The comparison table, one line per output; the sizes by row name."""
    log(f"{'output':<34} {'hello start-up':>16} {'heavy start-up':>16} "
        f"{'folder':>10} {'tar.zst':>10} {'onefile':>10}")  # fmt: skip
    by_name = {}
    for row in rows:
        by_name[row.name] = sizes(row)
        times = medians[row.name]
        cells = [f"{times[a] * 1000:6.1f} ms ({times[a] / medians[BASE][a]:.2f})" for a in APPS]
        mb = [f"{value / 1e6:7.2f} MB" if value else f"{'-':>10}" for value in by_name[row.name]]
        log(f"{row.name:<34} {cells[0]:>16} {cells[1]:>16} {' '.join(mb)}")
    log(f"(start-up: median, ratio to `{BASE}` in parentheses; sizes of hello, MB = 1e6 bytes)")
    return by_name


def print_size_ratios(sized: dict[str, Sizes]) -> None:
    """packager's sizes against PyInstaller's, as issue #21 states them."""
    pairs = [
        (f"{label}{suffix}", f"{ours}{suffix}", our_index, peer, peer_index)
        for suffix in ("", " --only-needed")
        for label, ours, our_index, peer, peer_index in (
            ("folder", "packager folder", 0, "PyInstaller onedir", 0),
            ("tar.zst", "packager folder", 1, "PyInstaller onefile", 2),
            ("onefile", "packager onefile", 2, "PyInstaller onefile", 2),
        )
    ]
    for label, ours, our_index, peer, peer_index in pairs:
        mine = sized[ours][our_index] if ours in sized else None
        theirs = sized[peer][peer_index] if peer in sized else None
        if mine and theirs:
            log(f"size, hello {label}: packager {mine / 1e6:.2f} MB, {peer} "
                f"{theirs / 1e6:.2f} MB, ratio {mine / theirs:.2f}")  # fmt: skip


def rebuilds(ours: dict[str, list[str]], rows: list[Row], runs: int) -> None:
    """Time the second run of each build, interleaved; print packager's against PyInstaller's."""
    peers = {row.name: row.rebuild for row in rows if row.rebuild}
    pairs = {"folder": "PyInstaller onedir", "onefile": "PyInstaller onefile"}
    builds = {f"packager {kind}": argv for kind, argv in ours.items()}
    builds.update({peer: peers[peer] for peer in pairs.values() if peer in peers})
    for name, argv in builds.items():
        if name.startswith("packager"):
            run(argv, f"{name} (first build)")  # the peers' first build is behind them
    times: dict[str, list[float]] = {name: [] for name in builds}
    for _ in range(max(1, min(runs, 3))):
        for name, argv in builds.items():
            times[name].append(run(argv, f"{name} (rebuild)"))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for kind, peer in pairs.items():
        mine = medians[f"packager {kind}"]
        if peer not in medians:
            log(f"rebuild, hello {kind}: packager {mine:.2f} s (no {peer} to compare)")
            continue
        ratio, target = mine / medians[peer], REBUILD_TARGETS[kind]
        log(f"rebuild, hello {kind}: packager {mine:.2f} s, {peer} {medians[peer]:.2f} s, "
            f"ratio {ratio:.2f} (target <= {target:.3g}) "
            f"{'ok' if ratio <= target else 'OVER TARGET'}")  # fmt: skip


def app_scripts(work: Path) -> dict[str, Path]:
    """The apps as the peers and `python -I` run them: plain scripts, Rust stubbed."""
    hello = work / "hello.py"
    main = (HELLO / "app" / "main.py").read_text(encoding="utf-8")
    hello.write_text(NATIVE_STUB + main, encoding="utf-8")
    heavy = work / "heavy.py"
    heavy.write_text(HEAVY_APP, encoding="utf-8")
    return {"hello": hello, "heavy": heavy}


def all_rows(
    options: argparse.Namespace, work: Path, failures: list[str]
) -> tuple[list[Row], dict[str, list[str]]]:
    """Build every output: packager's, each peer's (skipped when it cannot run), the bases."""
    scripts = app_scripts(work)
    rows, rebuild = packager_rows(options.python, work, dict(os.environ))
    for key in options.peers:
        missing = nuitka_missing(options.python) if key == "nuitka" else []
        if missing:
            log(f"Nuitka: skipped, install {', '.join(missing)} first")
            continue
        try:
            rows += peer_rows(key, options.python, scripts, work)
        except Failed as failure:
            log(f"{PEERS[key].title}: FAILED, skipped: {failure}")
            failures.append(str(failure))
    rows.append(Row(BASE, {app: [options.python, "-I", str(s)] for app, s in scripts.items()}))
    return rows, rebuild


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--python", default="/usr/bin/python3.11")
    parser.add_argument("--peers", default="pyinstaller,nuitka,cx_freeze")
    options = parser.parse_args()
    options.peers = [peer.strip() for peer in options.peers.split(",") if peer.strip()]
    if unknown := [peer for peer in options.peers if peer not in PEERS]:
        parser.error(f"unknown peers {unknown}: choose among {', '.join(PEERS)}")
    # The bases run with -I, which ignores PYTHON* variables; the programs must not see them.
    for name in [name for name in os.environ if name.startswith("PYTHON")]:
        del os.environ[name]
    os.environ.setdefault("CARGO_TARGET_DIR", str(HELLO.parent.parent / "target" / "test-cargo"))
    log(f"{time.strftime('%Y-%m-%d %H:%M')}, {options.python}, load average "
        f"{', '.join(f'{value:.2f}' for value in os.getloadavg())}")  # fmt: skip
    failures: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    try:
        rows, rebuild = all_rows(options, work, failures)
        reference = {app: subprocess.run(rows[-1].programs[app], capture_output=True,
                                         text=True, check=True).stdout for app in APPS}  # fmt: skip
        rows, broken = runnable(rows, reference)
        rows.append(Row(FLOOR, {app: [options.python, "-I", "-S", "-c", "pass"] for app in APPS}))
        failures += broken
        for line in broken:
            log(f"FAILED to run, left out: {line}")
        print_size_ratios(print_table(rows, startup(rows, options.runs)))
        rebuilds(rebuild, rows, options.runs)
    except Failed as failure:
        failures.append(str(failure))
        log(f"FAILED: {failure}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"load average at the end: {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
