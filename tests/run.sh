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
  gcc-aarch64-linux-gnu qemu-user-static                 # aarch64 cross builds, run by qemu
  libc6-dev-arm64-cross                                  # the cross compiler's C headers
  debootstrap                                            # minimal Debian roots for verify --distro
  debian-archive-keyring                                 # checks the Debian packages packager fetches
  tcl gperf                                              # SQLite's and fontconfig's builds (portable runtime)
  msitools wixl nsis rpm                                 # Windows installers, RPM packages
  desktop-file-utils                                     # desktop-file-validate
  xvfb xdotool x11-apps imagemagick                      # GUI apps on a virtual screen
  tk8.6-dev python3-tk                                   # Tcl/Tk for tkinter apps (_tkinter)
  fontconfig fonts-dejavu-core                           # the font a Tk bundle ships
  tesseract-ocr                                          # reads a GUI test's window off the screen
)
install_debian_packages "${apt_packages[@]}"
# The aarch64 tests take Debian's arm64 packages from roots packager makes itself
# (packager.python.debian_root), and the aarch64 portable runtime packager builds with
# zig: nothing of arm64 is installed or configured on the host.
command -v cargo >/dev/null || { echo "tests/run.sh: cargo is required (https://rustup.rs)" >&2; exit 1; }
# The cross targets' standard libraries (build --target); a no-op once installed. A
# toolchain without rustup (one mounted into a fresh root) must already carry them.
cross_targets=(x86_64-pc-windows-gnu aarch64-unknown-linux-gnu)
if command -v rustup >/dev/null; then
  rustup target add "${cross_targets[@]}" >/dev/null
else
  for target in "${cross_targets[@]}"; do
    [ -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ] || {
      echo "tests/run.sh: the Rust standard library for $target is missing" \
        "(rustup target add $target)" >&2
      exit 1
    }
  done
fi

packager_venv "$repo" test
python="$PACKAGER_VENV/bin/python"
echo "== ruff"; "$python" -m ruff check packager tests bench
"$python" -m ruff format --check packager tests bench
echo "== mypy"; "$python" -m mypy
echo "== pytest ($("$python" -c 'import platform; print(platform.python_version())'))"
"$python" -m pytest "$@"
