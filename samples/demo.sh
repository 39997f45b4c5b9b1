#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packager, build and bundle the hello
# sample, prove the bundle runs where no Python is visible, then run it.
#   bash samples/demo.sh [OUTPUT_DIR]      (default: ./dist)
# packager goes into a virtual environment (tests/setup.sh), never into the system's Python.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-dist}")"
source "$repo/tests/setup.sh"

install_debian_packages gcc libpython3.11-dev python3.11 patchelf bubblewrap zstd python3-venv
command -v cargo >/dev/null || { echo "samples/demo.sh: cargo is required (https://rustup.rs)" >&2; exit 1; }

packager_venv "$repo"
packager="$PACKAGER_VENV/bin/packager"
mkdir -p "$out"
# Build samples/hello in release mode, lay out the bundle and a tar.zst, and run the
# archive in a bubblewrap sandbox with every Python installation hidden.
"$packager" bundle "$repo/samples/hello" --out "$out" --format dir,tar.zst --force --verify
echo "== running $out/hello/hello"
"$out/hello/hello"
echo "== packager is installed in $PACKAGER_VENV: run it as $packager"
