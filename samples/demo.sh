#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packager, build and bundle the hello
# sample, prove the bundle runs where no Python is visible, then run it.
#   bash samples/demo.sh [OUTPUT_DIR]      (default: ./dist)
# packager goes into a virtual environment (tests/setup.sh), never into the system's Python;
# where no Rust 1.83+ is on PATH, Debian's (rustc-web, cargo-web) is installed. A first run
# takes about three minutes on 2 cores (packages, the environment, a release build).
set -euo pipefail
case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
esac
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-dist}")"
source "$repo/tests/setup.sh"

install_debian_packages gcc libpython3.11-dev python3.11 patchelf bubblewrap zstd python3-venv
ensure_cargo samples/demo.sh

packager_venv "$repo"
packager="$PACKAGER_VENV/bin/packager"
mkdir -p "$out"
# Build samples/hello in release mode, lay out the bundle and a tar.zst, and run the
# archive in a bubblewrap sandbox with every Python installation hidden.
"$packager" bundle "$repo/samples/hello" --out "$out" --format dir,tar.zst --force --verify
echo "== running $out/hello/hello"
"$out/hello/hello"
echo "== packager is installed in $PACKAGER_VENV: run it as $packager"
