#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for the test suite, then run it: lint, types, tests.
#   bash tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use as real subjects and tools.
apt_packages=(
  gcc make binutils libpython3.11-dev python3.11 gdb    # static/shared libpython, real ELF subjects
  gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64        # real PE fixtures
  wine wine64                                            # runs the Windows bundle's launcher
  clang lld llvm                                         # real Mach-O fixtures (ld64.lld, llvm-lipo)
  patchelf pax-utils bubblewrap pypy3 dpkg-dev fakeroot zstd python3-pip  # pip: --requirements with a Debian stdlib
)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "tests/run.sh: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "tests/run.sh: cargo is required (https://rustup.rs)" >&2; exit 1; }

python3 -m pip install --quiet --disable-pip-version-check ".[test]"

echo "== ruff"; python3 -m ruff check packager tests bench
python3 -m ruff format --check packager tests bench
echo "== mypy"; python3 -m mypy
echo "== pytest"; python3 -m pytest "$@"
