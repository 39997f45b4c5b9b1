#!/usr/bin/env bash
# usage: bash tests/run.sh [PYTEST ARGS...]
# Sets this Debian 12 machine up for the test suite, then runs ruff, mypy and pytest ARGS.
#
#   bash tests/run.sh                       everything, as CI runs it: about 1,250 tests,
#                                           25 minutes on 2 cores once the caches are warm
#   bash tests/run.sh -q tests/unit         the unit tests only: about 700 tests, 1-2 minutes
#   bash tests/run.sh -q tests/integration  the integration tests only (real cargo, wine,
#                                           qemu, debootstrap roots)
#   bash tests/run.sh -k onefile -x         any pytest selection and options
#
# What it installs, once: about 40 Debian packages the tests use as subjects and tools (gcc,
# mingw-w64, clang, wine, qemu-user-static, debootstrap, msitools, rpm, xvfb, tesseract,
# ...: about 4 GB of disk with what they pull in); Debian's Rust (rustc-web, cargo-web)
# when no cargo 1.83+ is on PATH; with rustup, the Windows and aarch64 targets; a virtual environment under
# ~/.cache/packager holding packager and its test dependencies, never the system's Python.
# The first full run also builds the portable runtimes and Debian roots into
# ~/.cache/packager (roughly 30 to 60 minutes more, and about 3 GB).
#   PACKAGER_PYTHON   the interpreter the environment is made from (default: python3)
set -euo pipefail
case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
esac
cd "$(dirname "$0")/.."
repo="$(pwd -P)"  # links resolved, as unit_only resolves the paths it compares
source tests/setup.sh

# unit_only ARGS...: whether the paths among pytest's arguments all lie in tests/unit (the
# unit tests build no Windows or aarch64 program).
unit_only() {
  local arg path found=false
  for arg in "$@"; do
    path="${arg%%::*}"
    [[ "$arg" != -* && -e "$path" ]] || continue
    found=true
    [[ "$(realpath -m "$path")/" == "$repo/tests/unit/"* ]] || return 1
  done
  $found
}

# Debian packages the tests use as real subjects and tools.
apt_packages=(
  gcc make binutils libpython3.11-dev python3.11 gdb    # static/shared libpython, real ELF subjects
  libpython3.11-dbg                                      # a libpython that keeps its symbols
  gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64        # real PE fixtures
  wine wine64                                            # runs the Windows bundle's launcher
  clang lld llvm                                         # real Mach-O fixtures (ld64.lld, llvm-lipo)
  patchelf pax-utils bubblewrap pypy3 dpkg-dev fakeroot zstd
  strace libcap2-bin                                     # which files a onefile program loads; setcap
  jython                                                 # a Python 2 (Debian 12 has no CPython 2)
  python3-pip                                            # --requirements with a Debian stdlib
  python3-venv                                           # the environment the tests run in
  gcc-aarch64-linux-gnu qemu-user-static                 # aarch64 cross builds, run by qemu
  libc6-dev-arm64-cross                                  # the cross compiler's C headers
  debootstrap                                            # minimal Debian roots for verify --distro
  debian-archive-keyring                                 # checks the Debian packages packager fetches
  tcl gperf                                              # SQLite's and fontconfig's builds (portable runtime)
  msitools wixl nsis rpm                                 # Windows installers, RPM packages
  gnupg                                                  # signs SHA256SUMS and .rpm files
  osslsigncode openssl                                   # Authenticode signatures (Windows)
  softhsm2 opensc libengine-pkcs11-openssl p11-kit-modules  # Authenticode with a PKCS#11 token
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
ensure_cargo tests/run.sh
# The cross targets' standard libraries (build --target); a no-op once installed. A
# toolchain without rustup (Debian's, one mounted into a fresh root) must already carry
# them, unless only the unit tests run.
cross_targets=(x86_64-pc-windows-gnu aarch64-unknown-linux-gnu)
if command -v rustup >/dev/null; then
  rustup target add "${cross_targets[@]}" >/dev/null
elif ! unit_only "$@"; then
  for target in "${cross_targets[@]}"; do
    [ -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ] || {
      echo "tests/run.sh: the Rust standard library for $target is missing" \
        "(rustup target add $target; Debian's Rust has none): the integration tests" \
        "build for it (bash tests/run.sh tests/unit runs the unit tests alone)" >&2
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
