"""A Linux cross target's root file system, made from Debian's packages on first use.

Building for another architecture links the target's libpython, and a bundle ships the
target's stdlib; running it under qemu takes the target's C library. When no
`--python-home ROOT` names such a root, packager makes one: Debian's CPython of the
target's architecture and the libraries it loads, downloaded with apt-get (a private
state, the machine's Debian mirror, signed indexes) and unpacked with `dpkg-deb -x` into
the cache. Nothing is installed on the host, and the host's apt is not changed. Each
package's file list is written as dpkg would (`var/lib/dpkg/info/PKG.list`), so what
owns a file of the root (for its licence) is known there as on an installed system.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from packager.core import runner
from packager.core.apt import KEYRING, apt_environ, debian_mirrors, private_apt_options
from packager.core.cache import cache_key, new_entry_dir, publish
from packager.core.context import Context
from packager.core.errors import ToolError, UsageError
from packager.targets import Target

# CPython by Debian release: the release, and the packages of its root (CPython and what
# libpython and its extension modules load).
SUITES = {
    "3.11": (
        "bookworm",
        (
            "libc6", "libgcc-s1", "gcc-12-base", "libcrypt1", "zlib1g", "zlib1g-dev",
            "libexpat1", "libexpat1-dev", "libffi8", "libbz2-1.0", "liblzma5", "libssl3",
            "libsqlite3-0", "libuuid1", "libncursesw6", "libtinfo6", "libreadline8",
            "libdb5.3", "libnsl2", "libtirpc3", "libgssapi-krb5-2", "libkrb5-3",
            "libk5crypto3", "libkrb5support0", "libkeyutils1", "libcom-err2",
            "libpython3.11-minimal", "libpython3.11-stdlib", "libpython3.11",
            "libpython3.11-dev",
        ),
    ),
}  # fmt: skip
DEFAULT_PYTHON = "3.11"
# What a program takes of a release under qemu-user: the libraries every Linux system has
# (packager.binary.floor's allowlist: glibc, the GCC runtime, zlib).
C_LIBRARY = ("libc6", "libgcc-s1", "libstdc++6", "libatomic1", "zlib1g")
# The release whose C library runs a target's programs when no other is asked for.
C_LIBRARY_SUITE = "bookworm"
_APT_FIX = "install apt and dpkg (a Debian system), or pass --python-home ROOT"
# Part of a root's key: 2 since roots carry their packages' file lists.
_FORMAT = 2


def debian_root(target: Target, ctx: Context, python: str = DEFAULT_PYTHON) -> str:
    """The root of Debian's CPython `python` for `target`, made in the cache on first use."""
    release = SUITES.get(python)
    if release is None or target.machine.deb is None or target.multiarch is None:
        raise UsageError(
            f"no Debian root of CPython {python} is known for {target.triple}",
            fix=f"pass the target's root with --python-home ROOT (Debian has CPython "
            f"{', '.join(SUITES)} for it)",
        )
    suite, packages = release
    marker = os.path.join("usr", "lib", target.multiarch, _libpython(python))
    return _unpacked_root(target, suite, packages, f"python{python}", marker, ctx, security=True)


def c_library_root(target: Target, suite: str, ctx: Context) -> str:
    """A root holding only Debian `suite`'s C library for `target` (the loader, libc,
    libm…, libgcc_s): what qemu-user runs a program of that architecture with, as that
    release would (its point release: the security archive may no longer carry an older
    release's updates)."""
    if target.machine.deb is None or target.multiarch is None:
        raise UsageError(f"Debian has no C library for {target.triple}")
    marker = os.path.join("lib", target.multiarch, "libc.so.6")
    return _unpacked_root(target, suite, C_LIBRARY, "libc", marker, ctx, security=False)


def _unpacked_root(
    target: Target,
    suite: str,
    packages: tuple[str, ...],
    what: str,
    marker: str,
    ctx: Context,
    *,
    security: bool,
) -> str:
    """`packages` of Debian `suite` for `target`'s architecture unpacked into a root in
    the cache (named by `what`), unless one with `marker` is there already."""
    deb_arch = target.machine.deb
    assert deb_arch is not None
    parent = os.path.join(ctx.cache_dir or tempfile.gettempdir(), "target-roots")
    facts = {"suite": suite, "arch": deb_arch, "packages": packages, "format": _FORMAT}
    key = cache_key(facts)[:16]
    final = os.path.join(parent, f"debian-{suite}-{deb_arch}-{what}-{key}")
    if os.path.isfile(os.path.join(final, marker)):
        return final
    work, building = new_entry_dir(parent), new_entry_dir(parent)
    if work is None or building is None:
        raise ToolError(f"cannot write the target's root under {parent}")
    try:
        _unpack(_download(suite, deb_arch, packages, work, ctx, security), building, ctx)
        return publish(building, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(building, ignore_errors=True)


def _libpython(python: str) -> str:
    return f"libpython{python}.so.1.0"


def _download(
    suite: str, deb_arch: str, packages: tuple[str, ...], work: str, ctx: Context, security: bool
) -> str:
    """Download the packages into `work`/debs (apt's state in `work`/apt); the folder."""
    apt_get = runner.require("apt-get", ctx.environ, fix=_APT_FIX)
    if not os.path.isfile(KEYRING):
        raise ToolError(
            "Debian's archive keyring is missing",
            path=KEYRING,
            fix="apt-get install debian-archive-keyring, or pass --python-home ROOT",
        )
    mirrors = debian_mirrors(ctx.environ)
    sources = f"deb [signed-by={KEYRING}] {mirrors.archive} {suite} main\n"
    if mirrors.security and security:
        sources += f"deb [signed-by={KEYRING}] {mirrors.security} {suite}-security main\n"
    options = private_apt_options(os.path.join(work, "apt"), sources, deb_arch)
    debs = os.path.join(work, "debs")
    os.mkdir(debs)
    environ = apt_environ(ctx.environ)
    ctx.progress(f"fetching Debian {suite}'s {deb_arch} package lists (apt-get update)")
    runner.run([apt_get, *options, "update"], environ=environ, echo=ctx.echo)
    ctx.progress(f"fetching {len(packages)} {deb_arch} packages of Debian {suite} for the root")
    runner.run([apt_get, *options, "download", *packages], environ=environ, cwd=debs, echo=ctx.echo)
    return debs


def _unpack(debs: str, root: str, ctx: Context) -> None:
    """Unpack every package in `debs` into `root` (dpkg-deb -x: files only, no scripts)."""
    dpkg_deb = runner.require("dpkg-deb", ctx.environ, fix=_APT_FIX)
    for name in sorted(os.listdir(debs)):
        if name.endswith(".deb"):
            runner.run([dpkg_deb, "-x", os.path.join(debs, name), root], environ=ctx.environ)
            _write_file_list(dpkg_deb, os.path.join(debs, name), root, ctx)


def _write_file_list(dpkg_deb: str, deb: str, root: str, ctx: Context) -> None:
    """var/lib/dpkg/info/PACKAGE.list of the unpacked `deb`: its paths, one a line, as
    `dpkg-deb --contents` names them (./usr/lib/x -> /usr/lib/x; a link's target left out)."""
    package = runner.run([dpkg_deb, "--field", deb, "Package"], environ=ctx.environ).stdout.strip()
    contents = runner.run([dpkg_deb, "--contents", deb], environ=ctx.environ).stdout
    paths = []
    for line in contents.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6:
            path = fields[5].split(" -> ")[0].removeprefix(".").rstrip("/")
            paths.append(path or "/.")
    info = os.path.join(root, "var", "lib", "dpkg", "info")
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, f"{package}.list"), "w", encoding="utf-8") as handle:
        handle.write("".join(f"{path}\n" for path in paths))
