#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packager, build and bundle the hello
# sample, prove the bundle runs where no Python is visible, then run it.
#   bash samples/demo.sh [OUTPUT_DIR]      (default: ./dist)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-dist}")"

apt_packages=(gcc libpython3.11-dev python3.11 patchelf bubblewrap zstd)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "samples/demo.sh: cargo is required (https://rustup.rs)" >&2; exit 1; }

python3 -m pip install --quiet --disable-pip-version-check "$repo"
mkdir -p "$out"
# Build samples/hello in release mode, lay out the bundle and a tar.zst, and run the
# archive in a bubblewrap sandbox with every Python installation hidden.
python3 -m packager bundle "$repo/samples/hello" --out "$out" --format dir,tar.zst --force --verify
echo "== running $out/hello/hello"
"$out/hello/hello"
