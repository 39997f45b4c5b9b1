#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for the test suite, then run it: lint, types, tests.
#   bash tests/run.sh [pytest args...]
# packager and its test dependencies go into a virtual environment (tests/setup.sh), never
# into the system's Python; PACKAGER_PYTHON chooses the interpreter it is made from.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
source tests/setup.sh

# Debian packages the tests use as real subjects and tools.
apt_packages=(
  gcc make binutils libpython3.11-dev python3.11 gdb    # static/shared libpython, real ELF subjects
  libpython3.11-dbg                                      # a libpython that keeps its symbols
  gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64        # real PE fixtures
  wine wine64                                            # runs the Windows bundle's launcher
  clang lld llvm                                         # real Mach-O fixtures (ld64.lld, llvm-lipo)
  patchelf pax-utils bubblewrap pypy3 dpkg-dev fakeroot zstd
  jython                                                 # a Python 2 (Debian 12 has no CPython 2)
  python3-pip                                            # --requirements with a Debian stdlib
  python3-venv                                           # the environment the tests run in
)
install_debian_packages "${apt_packages[@]}"
command -v cargo >/dev/null || { echo "tests/run.sh: cargo is required (https://rustup.rs)" >&2; exit 1; }

packager_venv "$repo" test
python="$PACKAGER_VENV/bin/python"
echo "== ruff"; "$python" -m ruff check packager tests bench
"$python" -m ruff format --check packager tests bench
echo "== mypy"; "$python" -m mypy
echo "== pytest ($("$python" -c 'import platform; print(platform.python_version())'))"
"$python" -m pytest "$@"
