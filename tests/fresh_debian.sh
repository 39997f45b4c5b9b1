#!/usr/bin/env bash
# The README's commands on a fresh Debian 12 whose only Python is Debian's own.
#   bash tests/fresh_debian.sh [--no-rust] [--tests [PYTEST ARGS...]]   (options in any order
#   before --tests; everything after it goes to pytest)
#
# A `debootstrap --variant=minbase bookworm` root with only python3, git and CA
# certificates added (what a new user has; the scripts install the rest), this host's
# Rust toolchain mounted read-only (rustup's servers may be out of reach), and a copy of
# this checkout's files. With --no-rust no toolchain is mounted: the scripts install
# Debian's own (rustc-web, cargo-web). Inside it runs `bash samples/demo.sh`, then with
# --tests `bash tests/run.sh ARGS...` (default ARGS: -q -x). Needs root, debootstrap
# (installed if missing) and overlayfs.
#
# The root is made once and cached under ${XDG_CACHE_HOME:-~/.cache}/packager/; every run
# starts from a fresh overlay of it, so what the scripts install they install again.
# Downloads (.deb files, pip wheels, crates) are cached beside it, and so is the cargo
# target directory of the test suite (target/test-cargo), as it is kept between runs of
# tests/run.sh elsewhere: the demo still builds from nothing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
run_tests=false
mount_rust=true
while [ "$#" -gt 0 ]; do
  case "$1" in
    --no-rust) mount_rust=false; shift ;;
    --tests) run_tests=true; shift; break ;;  # the rest is pytest's
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "tests/fresh_debian.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if $run_tests && [ "$#" -eq 0 ]; then
  set -- -q -x
fi
[ "$(id -u)" -eq 0 ] || { echo "tests/fresh_debian.sh: run as root (debootstrap, mount)" >&2; exit 1; }
if $mount_rust && ! command -v cargo >/dev/null; then
  echo "tests/fresh_debian.sh: cargo is required (or --no-rust)" >&2
  exit 1
fi
source "$repo/tests/setup.sh"
install_debian_packages debootstrap bubblewrap

cache="${XDG_CACHE_HOME:-$HOME/.cache}/packager/fresh-debian"
base="$cache/bookworm-python3-git-only"
mkdir -p "$cache/apt" "$cache/pip" "$cache/cargo" "$cache/test-cargo"

if [ ! -e "$base/.complete" ]; then
  echo "== making the Debian 12 root $base"
  rm -rf "$base"
  # The Debian mirror this machine's apt uses (or PACKAGER_DEBIAN_MIRROR).
  mirror="$(PYTHONPATH="$repo" python3 -c 'import os
from packager.core.apt import debian_mirrors
print(debian_mirrors(os.environ).archive)')"
  debootstrap --variant=minbase bookworm "$base" "$mirror"
  cp /etc/resolv.conf "$base/etc/resolv.conf"
  chroot "$base" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends python3 git ca-certificates
  chroot "$base" apt-get clean
  rm -rf "$base/var/lib/apt/lists/"*
  touch "$base/.complete"
fi

# What the scripts install into the root (about 4 GB of Debian packages) lands in its
# overlay under /tmp: say so at once rather than as dpkg's "No space left on device".
need_kb=$((6 * 1024 * 1024))
free_kb="$(df -Pk /tmp | awk 'NR == 2 { print $4 }')"
if [ "$free_kb" -lt "$need_kb" ]; then
  echo "tests/fresh_debian.sh: /tmp has $((free_kb / 1024 / 1024)) GiB free; the fresh root" \
    "needs about 6 GiB for what the scripts install (free some space, e.g. rm -rf" \
    "/tmp/pytest-of-$(id -un))" >&2
  exit 1
fi
run="$(mktemp -d /tmp/packager-fresh-debian.XXXXXX)"
cleanup() {
  umount "$run/root" 2>/dev/null || true
  # Never delete through a root still mounted (the cached root is its lower layer).
  mountpoint -q "$run/root" || rm -rf "$run"
}
trap cleanup EXIT
mkdir "$run/upper" "$run/work" "$run/root"
mount -t overlay overlay \
  -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" "$run/root"

# The checkout's files as a fresh clone has them (tracked and new, nothing ignored).
checkout="$run/root/home/user/packager"
mkdir -p "$checkout"
git -C "$repo" ls-files -z --cached --others --exclude-standard \
  | tar -C "$repo" --null --ignore-failed-read -T - -cf - \
  | tar -C "$checkout" -xf -

rust=()
path=/usr/sbin:/usr/bin:/sbin:/bin
if $mount_rust; then
  mkdir -p "$run/root/opt/rust"
  rust=(--ro-bind "$(rustc --print sysroot)" /opt/rust)
  path="/opt/rust/bin:$path"
fi
mkdir -p "$run/root/root/.cache/pip" "$run/root/root/.cargo" \
  "$run/root/var/cache/apt/archives" "$checkout/target/test-cargo"
script='set -e
echo "== inside: $(. /etc/os-release; echo "$PRETTY_NAME"), python3: $(command -v python3)" \
  "$(python3 --version), cargo: $(cargo --version 2>/dev/null || echo none)"
echo "== Python executables: $(ls /usr/bin/python* /usr/local/bin 2>/dev/null | tr "\n" " ")"
cd /home/user/packager
start=$SECONDS
bash samples/demo.sh
echo "== samples/demo.sh: ok in $((SECONDS - start)) s"
if [ "$1" = true ]; then
  shift
  start=$SECONDS
  bash tests/run.sh "$@"
  echo "== tests/run.sh $*: ok in $((SECONDS - start)) s"
fi'
# The host's CA bundle: a host whose TLS goes through an inspecting proxy reaches the
# package registries from the root the way it does itself.
ca_bundle=/etc/ssl/certs/ca-certificates.crt
# bwrap, not chroot: inside a chroot the kernel refuses the user namespace that the
# demo's own sandbox (packager verify) makes. The host's /proc, not a new one: bwrap
# covers parts of a /proc it mounts, and the kernel then refuses the nested sandbox a
# /proc of its own. As root, bwrap needs --cap-add ALL so that apt and dpkg keep their
# privileges.
bwrap \
  --bind "$run/root" / \
  --dev /dev --bind /proc /proc --tmpfs /run \
  --ro-bind /etc/resolv.conf /etc/resolv.conf --ro-bind "$ca_bundle" "$ca_bundle" \
  "${rust[@]}" \
  --bind "$cache/apt" /var/cache/apt/archives \
  --bind "$cache/pip" /root/.cache/pip \
  --bind "$cache/cargo" /root/.cargo \
  --bind "$cache/test-cargo" /home/user/packager/target/test-cargo \
  --unshare-ipc --unshare-uts --die-with-parent --cap-add ALL \
  --clearenv \
  --setenv PATH "$path" \
  --setenv HOME /root --setenv LANG C.UTF-8 --setenv TERM "${TERM:-dumb}" \
  --chdir /home/user/packager \
  /bin/bash -c "$script" fresh-debian "$run_tests" "$@" || status=$?
echo "== what the scripts installed and wrote in the root: $(du -sm "$run/upper" | cut -f1) MB"
exit "${status:-0}"
