"""Installer formats against the bundle folder and tar.zst of the same app, same run.

    python3 bench/bench_installers.py [--runs N] [--windows-home DIR]

samples/hello is built once in release mode (Debian's python3.11, so the timing is of
the bundling alone); then each format is bundled from that binary `--runs` times,
interleaved with the folder and the tar.zst, and the median time and the size of each
are printed with their ratios to the folder's and the tar.zst's. With --windows-home (an
unpacked Windows embeddable CPython), the same is done for the Windows program: msi and
setup against the folder and the zip.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from packager.bundle import BundleFormat, BundleRequest, ContentOptions, bundle  # noqa: E402
from packager.core.context import Context  # noqa: E402
from packager.core.fsutil import tree_size  # noqa: E402

DEBIAN_PYTHON = "/usr/bin/python3.11"
LINUX = ("installer", "deb", "rpm")
WINDOWS = ("msi", "setup")


def build(crate: Path, environ: dict[str, str], target: str | None, home: str | None) -> str:
    """The release binary of `crate`, for this host or `target`."""
    if target is None:
        from packager.crate.build import build_crate

        return build_crate(
            crate, environ=environ, mode="dynamic", python=DEBIAN_PYTHON, release=True
        ).binaries[0]
    from packager.crate.cross_build import build_for_target

    outcome = build_for_target(
        str(crate), target=target, environ=environ, python_home=home, mode="auto", release=True
    )
    return outcome.binaries[0]


def timed_bundle(
    binary: str, fmt: str, work: Path, environ: dict[str, str], home: str | None
) -> tuple[float, int]:
    """(seconds, bytes) of one `bundle BINARY --format fmt` into a fresh directory."""
    out = Path(tempfile.mkdtemp(dir=work))
    content = ContentOptions(python_home=home) if home else ContentOptions()
    version = "1.0.0" if fmt in LINUX + WINDOWS else None
    request = BundleRequest(
        binary, out_dir=str(out), formats=(BundleFormat(fmt),), content=content, version=version
    )
    start = time.perf_counter()
    run = bundle(request, Context(environ=environ))
    elapsed = time.perf_counter() - start
    assert run.manifest is not None
    (output,) = (o for o in run.manifest.outputs if o.format is not None)
    size = tree_size(output.path) if os.path.isdir(output.path) else output.size
    shutil.rmtree(out)
    return elapsed, size


def measure(
    formats: tuple[str, ...], runs: int, one: Callable[[str], tuple[float, int]]
) -> dict[str, tuple[float, int]]:
    """Median seconds and the size of each format, runs interleaved after a warm-up."""
    for fmt in formats:
        one(fmt)
    times: dict[str, list[float]] = {fmt: [] for fmt in formats}
    sizes: dict[str, int] = {}
    for _ in range(runs):
        for fmt in formats:
            seconds, sizes[fmt] = one(fmt)
            times[fmt].append(seconds)
    return {fmt: (statistics.median(times[fmt]), sizes[fmt]) for fmt in formats}


def report(results: dict[str, tuple[float, int]], peers: tuple[str, str]) -> None:
    folder, archive = peers
    for fmt, (seconds, size) in results.items():
        if fmt in peers:
            continue
        ratios = []
        for peer in (folder, archive):
            peer_seconds, peer_size = results[peer]
            ratios.append(
                f"vs {peer}: time {seconds / peer_seconds:.2f}x, size {size / peer_size:.2f}x"
            )
        print(f"{fmt:9} {seconds:6.2f} s {size / 2**20:7.2f} MiB   " + "; ".join(ratios))
    for peer in peers:
        seconds, size = results[peer]
        print(f"{peer:9} {seconds:6.2f} s {size / 2**20:7.2f} MiB   (the peer)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--windows-home", help="an unpacked Windows embeddable CPython")
    options = parser.parse_args()
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    environ.setdefault("CARGO_TARGET_DIR", str(REPO / "target" / "test-cargo"))
    environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    work = Path(tempfile.mkdtemp(prefix="bench-installers-"))
    try:
        hello = REPO / "samples" / "hello"
        binary = build(hello, environ, None, None)
        print(f"Linux program {binary} (median of {options.runs} runs)")
        linux = measure(
            ("dir", "tar.zst", *LINUX),
            options.runs,
            lambda fmt: timed_bundle(binary, fmt, work, environ, None),
        )
        report(linux, ("dir", "tar.zst"))
        if options.windows_home:
            home = os.path.abspath(options.windows_home)
            exe = build(hello, environ, "x86_64-pc-windows-gnu", home)
            print(f"Windows program {exe} (median of {options.runs} runs)")
            windows = measure(
                ("dir", "zip", *WINDOWS),
                options.runs,
                lambda fmt: timed_bundle(exe, fmt, work, environ, home),
            )
            report(windows, ("dir", "zip"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
