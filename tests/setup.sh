# Shared by tests/run.sh and samples/demo.sh (sourced, not run): Debian packages, and a
# virtual environment holding the checkout's packager. Debian's python3 is "externally
# managed" (PEP 668): pip may not install into it, so nothing here does.
#
#   PACKAGER_PYTHON   the interpreter the environment is made from (default: python3)

# install_debian_packages NAME...: apt-get install the packages that are not installed yet.
install_debian_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "== installing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  # Another apt (unattended-upgrades, a second terminal) may hold apt's locks: install
  # waits for dpkg's (DPkg::Lock::Timeout); update has no such wait for its lists' lock,
  # so it is tried again while that lock is taken, for up to ten minutes.
  local output tries=0
  until output="$("${sudo[@]}" apt-get update -qq 2>&1)"; do
    if [[ "$output" != *"Could not get lock"* ]] || [ "$tries" -ge 120 ]; then
      echo "$output" >&2
      return 1
    fi
    [ "$tries" -eq 0 ] && echo "== waiting for another apt to finish"
    tries=$((tries + 1))
    sleep 5
  done
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}"
}

# The oldest Rust that builds the samples and `packager new`'s crate (their rust-version).
PACKAGER_RUST_MINIMUM=1.83

# ensure_cargo WHO: a cargo of at least PACKAGER_RUST_MINIMUM on PATH. Where there is none
# (or an older one), Debian's current Rust is installed: rustc-web and cargo-web.
ensure_cargo() {
  local who="$1" found=""
  found="$(_cargo_version)" && _at_least "$found" "$PACKAGER_RUST_MINIMUM" && return 0
  if [ -n "$found" ] && [ "$(command -v cargo)" != /usr/bin/cargo ]; then
    # Debian's would go to /usr/bin, behind this one on PATH: installing it would not help.
    echo "$who: cargo $found ($(command -v cargo)) is older than $PACKAGER_RUST_MINIMUM:" \
      "update it (rustup: rustup update) or put a newer cargo first on PATH" >&2
    return 1
  fi
  echo "== $who: ${found:+cargo $found is older than $PACKAGER_RUST_MINIMUM; }no Rust" \
    "$PACKAGER_RUST_MINIMUM+ on PATH, installing Debian's (rustc-web, cargo-web:" \
    "about 450 MB installed, one to three minutes)"
  install_debian_packages rustc-web cargo-web
  hash -r
  found="$(_cargo_version)" && _at_least "$found" "$PACKAGER_RUST_MINIMUM" && return 0
  echo "$who: cargo ${found:-(none)} on PATH ($(command -v cargo || echo none)) is older" \
    "than $PACKAGER_RUST_MINIMUM: put a newer one first on PATH (rustup: rustup update)" >&2
  return 1
}

# _cargo_version: the version of the cargo on PATH (1.85.0), or fail when there is none.
_cargo_version() {
  local line
  line="$(cargo --version 2>/dev/null)" || return 1
  line="${line#cargo }"
  echo "${line%% *}"
}

# _at_least VERSION MINIMUM: whether VERSION >= MINIMUM, compared as dotted numbers.
_at_least() {
  printf '%s\n%s\n' "$2" "$1" | sort -V -C
}

# packager_venv REPO [EXTRA]: make or reuse the environment for this checkout and this
# interpreter, with REPO installed editable (so it always runs the checkout's current
# code) and the optional dependencies EXTRA; sets PACKAGER_VENV to its folder.
# It is reinstalled only when pyproject.toml, this file, the extras or the checkout change.
packager_venv() {
  local repo="$1" extra="${2:-}" python="${PACKAGER_PYTHON:-python3}" identity version
  version="$("$python" -c 'import platform; print(platform.python_version())')" || {
    echo "no usable '$python': install python3 (Debian: apt-get install python3)" >&2
    return 1
  }
  identity="$("$python" -c 'import sys; print(sys.executable)') $version"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "packager needs Python 3.11 or newer, '$python' is $version:" \
      "set PACKAGER_PYTHON=/path/to/python3.11" >&2
    return 1
  }
  local key
  key="$(printf '%s\n' "$(cd "$repo" && pwd -P)" "$identity" | sha256sum | cut -c1-12)"
  PACKAGER_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/packager/venv-py$version-$key"

  # A folder left by an interrupted run, or whose interpreter went away, is made anew.
  if ! "$PACKAGER_VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$PACKAGER_VENV"
    mkdir -p "$(dirname "$PACKAGER_VENV")"
    "$python" -m venv "$PACKAGER_VENV" || {
      echo "cannot make a virtual environment with '$python':" \
        "install python3-venv (Debian: apt-get install python3-venv)" >&2
      return 1
    }
  fi

  # One line per install made with the current inputs: "HASH [EXTRA]". Asking for no
  # extra is satisfied by any of them.
  local stamp="$PACKAGER_VENV/packager-install.stamp" inputs pattern
  inputs="$(cat "$repo/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
  pattern="^$inputs \\[${extra:-.*}\\]\$"
  if ! grep -q "$pattern" "$stamp" 2>/dev/null || ! _packager_from "$repo"; then
    echo "== installing packager${extra:+[$extra]} from $repo into $PACKAGER_VENV"
    grep -q "^$inputs " "$stamp" 2>/dev/null || rm -f "$stamp"
    "$PACKAGER_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      --editable "$repo${extra:+[$extra]}"
    _packager_from "$repo" || {
      echo "the environment $PACKAGER_VENV does not import packager from $repo" >&2
      return 1
    }
    echo "$inputs [$extra]" >>"$stamp"
  fi
}

# _packager_from REPO: whether the environment imports packager from REPO (not from a
# copy, another checkout, or the current directory).
_packager_from() {
  local found
  found="$(cd / && "$PACKAGER_VENV/bin/python" -I -c \
    'import os, packager; print(os.path.dirname(os.path.dirname(os.path.realpath(packager.__file__))))' \
    2>/dev/null)" || return 1
  [ "$found" = "$(cd "$1" && pwd -P)" ]
}
