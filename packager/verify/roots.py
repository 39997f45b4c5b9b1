"""Older userlands to run a bundle in: `debootstrap --variant=minbase` roots of Debian.

A minbase root has glibc, coreutils, tar, gzip and sh, and nothing a bundle could lean
on by accident (no Python, no OpenSSL 3 in bullseye, no libexpat). Each root is made
once under the cache directory and reused; it is built in a scratch directory beside
its final place and renamed there whole, so an interrupted debootstrap leaves no root
that looks finished.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence

from packager.core import runner
from packager.core.apt import debian_mirrors
from packager.core.context import Context
from packager.core.errors import UsageError

# Each release Debian's mirror still serves, and the glibc it ships.
DEBIAN_RELEASES = {"bullseye": "2.31", "bookworm": "2.36", "trixie": "2.41"}
DEFAULT_RELEASE = "bookworm"
_DEBOOTSTRAP_FIX = "install debootstrap (Debian: apt-get install debootstrap) and run as root"


def parse_distros(text: str) -> tuple[str, ...]:
    """Release names from a comma-separated list ("bullseye,bookworm"), checked."""
    names = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    unknown = [name for name in names if name not in DEBIAN_RELEASES]
    if unknown or not names:
        raise UsageError(
            f"unknown distribution {', '.join(unknown) or repr(text)}",
            fix=f"use one or more of {', '.join(DEBIAN_RELEASES)}",
        )
    return names


def lowest_glibc(distros: Sequence[str]) -> str | None:
    """The oldest glibc among `distros`: the floor a bundle verified on all of them needs."""
    from packager.binary.floor import version_key

    versions = [DEBIAN_RELEASES[name] for name in distros]
    return min(versions, key=version_key, default=None)


def debian_release_of(root: str) -> str:
    """The Debian release whose userland `root` is (its os-release), bookworm for a
    system that is not one of DEBIAN_RELEASES."""
    try:
        with open(os.path.join(root, "etc", "os-release"), encoding="utf-8") as handle:
            fields = dict(line.rstrip("\n").partition("=")[::2] for line in handle)
    except (OSError, UnicodeDecodeError):
        return DEFAULT_RELEASE
    name = fields.get("VERSION_CODENAME", "").strip('"')
    is_debian = fields.get("ID", "").strip('"') == "debian"
    return name if is_debian and name in DEBIAN_RELEASES else DEFAULT_RELEASE


def root_path(release: str, cache_dir: str) -> str:
    """Where the minbase root of `release` lives in the cache."""
    return os.path.join(cache_dir, "roots", f"debian-{release}-minbase")


def debian_root(release: str, ctx: Context) -> str:
    """The cached minbase root of Debian `release`, made with debootstrap when missing."""
    if release not in DEBIAN_RELEASES:
        parse_distros(release)
    if ctx.cache_dir is None:
        raise UsageError(
            "no cache directory to keep the Debian root in (HOME and XDG_CACHE_HOME unset)",
            fix="set HOME or XDG_CACHE_HOME, or pass --root DIR",
        )
    final = root_path(release, ctx.cache_dir)
    if os.path.isdir(final):
        return final
    debootstrap = runner.require("debootstrap", ctx.environ, fix=_DEBOOTSTRAP_FIX)
    mirror = debian_mirrors(ctx.environ).archive
    scratch = f"{final}.partial-{os.getpid()}"
    os.makedirs(os.path.dirname(final), exist_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    ctx.progress(f"making a minimal Debian {release} root (debootstrap, once; a few minutes)")
    try:
        runner.run(
            [debootstrap, "--variant=minbase", release, scratch, mirror],
            environ=ctx.environ,
            echo=ctx.echo,
            on_line=ctx.on_line,
        )
        remove_device_nodes(scratch)
        try:
            os.rename(scratch, final)
        except OSError:
            if not os.path.isdir(final):  # not a concurrent run that finished first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


def remove_device_nodes(root: str) -> None:
    """Delete the device files debootstrap made in `root`/dev: the sandbox mounts a /dev of
    its own over it, and a copy of the root would read /dev/zero or /dev/urandom forever."""
    dev = os.path.join(root, "dev")
    for current, _, names in os.walk(dev):
        for name in names:
            path = os.path.join(current, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                os.unlink(path)
