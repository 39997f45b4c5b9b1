"""What `bundle --verify-on` adds per Debian root, against `--verify` on this host.

    python3 bench/bench_verify_on.py BINARY [--runs N] [--distros bullseye,bookworm]

BINARY is a built program that embeds Python (e.g. samples/hello's release build). It is
bundled once as dir,tar.zst,installer. `bundle --verify-on NAME` then costs, per root,
one `verify --distro NAME` of each output, so that is what is timed: for each root and
output, `packager verify --distro NAME OUTPUT` against `packager verify OUTPUT` (the same
sandbox over this host), median of interleaved runs after a warm-up. The warm-up also
makes a missing root (a cold debootstrap, a few minutes, not timed).
Target: a root costs <= 1.5x the host's sandbox (another userland underneath, nothing
else). A root whose glibc is below the bundle's floor is skipped: `bundle` refuses it
before writing anything.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from common import compare, packager_command

FORMATS = "dir,tar.zst,installer"
# The glibc of each Debian release packager makes roots of (packager.verify.roots).
RELEASE_GLIBC = {"bullseye": (2, 31), "bookworm": (2, 36), "trixie": (2, 41)}


def bundle_once(binary: str, out: Path) -> tuple[list[str], tuple[int, ...]]:
    """Bundle `binary` into `out`; (the outputs written, the bundle's glibc floor)."""
    argv = [*packager_command(), "bundle", binary, "--out", str(out), "--format", FORMATS]
    done = subprocess.run([*argv, "--json"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"packager bundle failed:\n{done.stderr[-3000:]}")
    manifest = json.loads(done.stdout)["bundle"]
    outputs = [item["path"] for item in manifest["outputs"] if item["format"]]
    return outputs, tuple(int(part) for part in manifest["glibc_floor"].split("."))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--distros", default="bullseye,bookworm")
    options = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-verify-on-") as scratch:
        outputs, floor = bundle_once(options.binary, Path(scratch) / "out")
        for name in (item for item in options.distros.split(",") if item):
            if RELEASE_GLIBC[name] < floor:
                print(f"{name}: below the bundle's floor, refused by bundle --verify-on")
                continue
            for output in outputs:
                verify = [*packager_command(), "verify"]
                ok &= compare(
                    f"verify --distro {name} {Path(output).name}",
                    [*verify, "--distro", name, output],
                    [*verify, output],
                    "verify on this host",
                    runs=options.runs,
                    target=1.5,
                )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
