"""Fetch a runtime's sources as Debian source packages, once, into the cache.

CPython comes from the release that ships that version (python3.11 from bookworm,
python3.13 from trixie); the libraries always from LIBRARY_SUITE. tkinter's libraries
(GUI_DEPENDENCIES) are fetched file by file: each release tarball named in the suite's
signed Sources index is downloaded by apt's own helper, which checks it against the
SHA-256 the index gives, and the data packages with `apt-get download`.

apt-get runs with a private sources list, state and cache directory, so the host's apt
configuration is neither used nor changed (only its Debian mirror is read:
packager.core.apt); it checks every file against the suite's
signed indexes (Debian's archive keyring). The downloads are published whole into
`sources/debian-<suite>/` and reused offline from then on.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

from packager.core import runner
from packager.core.apt import (
    KEYRING,
    DebianMirrors,
    apt_environ,
    debian_mirrors,
    private_apt_options,
)
from packager.core.cache import new_entry_dir, publish
from packager.core.context import Context
from packager.core.errors import ToolError, UsageError
from packager.python.portable.sources import DEBIAN_SUITES, DEPENDENCIES, GUI_DEPENDENCIES
from packager.python.portable.spec import RuntimeSpec

# The libraries come from one release for every CPython: bookworm's OpenSSL 3.0 (an LTS
# line Debian maintains), and one set of libraries built once for all runtimes.
LIBRARY_SUITE = "bookworm"
# Names the cached download of GUI_DEPENDENCIES: a changed list is fetched anew.
GUI_LABEL = "gui-2"
APT_HELPER = "/usr/lib/apt/apt-helper"
_APT_FIX = "install apt, or give --source and --deps-source"
# A release tarball in `apt-get source --print-uris`: 'URI' NAME SIZE SHA256:HEX
ORIG_LINE = re.compile(
    r"'(?P<uri>[^']+)' (?P<name>[^ /]+\.orig\.tar\.[a-z0-9]+) \d+ (?P<hash>SHA256:[0-9a-f]{64})"
)


def suite_for(spec: RuntimeSpec) -> str:
    """The Debian suite whose python3.X a runtime is built from, or UsageError."""
    suite = DEBIAN_SUITES.get(spec.minor)
    if suite is None:
        known = ", ".join(f"3.{minor}" for minor in sorted(DEBIAN_SUITES))
        raise UsageError(
            f"no Debian release ships CPython {spec.short_version} (it has {known})",
            fix=f"give --source Python-{spec.short_version}.Y.tgz (a CPython release tarball)",
        )
    return suite


def library_packages() -> list[str]:
    """The source packages of the libraries, fetched from LIBRARY_SUITE."""
    return [dep.debian_package for dep in DEPENDENCIES]


def sources_list(suite: str, mirrors: DebianMirrors, *, binaries: bool = False) -> str:
    """The private sources.list: the suite and its security updates, sources only (and
    binary packages with `binaries`).

    (`-updates` is left out: it carries volatile data packages, none of which a runtime
    needs, and its index may name files the mirror no longer has.)
    """
    options = f"[signed-by={KEYRING}]"
    kinds = ("deb-src", "deb") if binaries else ("deb-src",)
    text = "".join(f"{kind} {options} {mirrors.archive} {suite} main\n" for kind in kinds)
    if mirrors.security:
        text += "".join(
            f"{kind} {options} {mirrors.security} {suite}-security main\n" for kind in kinds
        )
    return text


def fetch_python(spec: RuntimeSpec, ctx: Context, root: str) -> str:
    """The directory holding Debian's python3.X source package, fetched the first time."""
    suite = suite_for(spec)
    python = f"python{spec.short_version}"
    return _fetch(suite, [python], python, ctx, root)


def fetch_libraries(ctx: Context, root: str) -> str:
    """The directory holding the libraries' source packages, fetched the first time."""
    return _fetch(LIBRARY_SUITE, library_packages(), "libraries", ctx, root)


def fetch_gui(ctx: Context, root: str) -> str:
    """The directory holding tkinter's libraries and data packages, fetched the first time."""
    final = os.path.join(root, "sources", f"debian-{GUI_LABEL}")
    if os.path.isdir(final):
        return final
    apt_get = _apt_get(ctx)
    helper = APT_HELPER if os.access(APT_HELPER, os.X_OK) else None
    if helper is None:
        raise ToolError("apt's download helper is missing", path=APT_HELPER, fix=_APT_FIX)
    building = new_entry_dir(os.path.dirname(final))
    if building is None:
        raise UsageError("cannot write the source cache", path=final, fix="check its permissions")
    try:
        for suite in sorted({c.suite or LIBRARY_SUITE for c in GUI_DEPENDENCIES}):
            _fetch_gui_suite(suite, apt_get, helper, building, ctx)
        return publish(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _fetch_gui_suite(suite: str, apt_get: str, helper: str, into: str, ctx: Context) -> None:
    """Download the GUI_DEPENDENCIES of `suite` into `into`."""
    wanted = [c for c in GUI_DEPENDENCIES if (c.suite or LIBRARY_SUITE) == suite]
    state = os.path.join(into, f".apt-{suite}")
    options = private_apt_options(
        state, sources_list(suite, debian_mirrors(ctx.environ), binaries=True)
    )
    environ = apt_environ(ctx.environ)
    ctx.progress(f"fetching Debian {suite}'s package lists (apt-get update)…")
    runner.run([apt_get, *options, "update"], environ=environ, echo=ctx.echo)
    for component in (c for c in wanted if not c.deb):
        tarballs = _release_tarballs(apt_get, options, component.debian_package, suite, into, ctx)
        for uri, name, digest in tarballs:
            ctx.progress(f"fetching {name} from Debian {suite}…")
            runner.run([helper, "download-file", uri, os.path.join(into, name), digest],
                       environ=environ, echo=ctx.echo)  # fmt: skip
    debs = [c.debian_package for c in wanted if c.deb]
    if debs:
        ctx.progress(f"fetching {', '.join(debs)} from Debian {suite} (apt-get download)…")
        runner.run([apt_get, *options, "download", *debs], environ=environ, cwd=into,
                   echo=ctx.echo)  # fmt: skip
    shutil.rmtree(state)


def _release_tarballs(
    apt_get: str, options: list[str], package: str, suite: str, cwd: str, ctx: Context
) -> Iterator[tuple[str, str, str]]:
    """(URI, file name, SHA256:HEX) of each release tarball of `package` in `suite`'s index."""
    result = runner.run(
        [apt_get, *options, "source", "--print-uris", f"{package}/{suite}"],
        environ=apt_environ(ctx.environ),
        cwd=cwd,
        echo=ctx.echo,
    )
    found = [m for line in result.stdout.splitlines() if (m := ORIG_LINE.fullmatch(line.strip()))]
    if not found:
        raise ToolError(f"Debian {suite}'s index names no release tarball of {package}",
                        output=result.stdout, fix=_APT_FIX)  # fmt: skip
    for match in found:
        yield match["uri"], match["name"], match["hash"]


def _apt_get(ctx: Context) -> str:
    """apt-get, with Debian's archive keyring beside it; ToolError naming what is missing."""
    apt_get = runner.require("apt-get", ctx.environ, fix=_APT_FIX)
    if not os.path.isfile(KEYRING):
        raise ToolError(
            "Debian's archive keyring is missing",
            path=KEYRING,
            fix="apt-get install debian-archive-keyring, or give --source and --deps-source",
        )
    return apt_get


def _fetch(suite: str, packages: list[str], label: str, ctx: Context, root: str) -> str:
    final = os.path.join(root, "sources", f"debian-{suite}-{label}")
    if os.path.isdir(final):
        return final
    apt_get = _apt_get(ctx)
    building = new_entry_dir(os.path.dirname(final))
    if building is None:
        raise UsageError("cannot write the source cache", path=final, fix="check its permissions")
    try:
        state = os.path.join(building, ".apt")
        options = private_apt_options(state, sources_list(suite, debian_mirrors(ctx.environ)))
        ctx.progress(f"fetching Debian {suite}'s source packages (apt-get update)…")
        runner.run([apt_get, *options, "update"], environ=apt_environ(ctx.environ), echo=ctx.echo)
        ctx.progress(f"fetching {', '.join(packages)} from Debian {suite} (apt-get source)…")
        runner.run(
            [apt_get, *options, "source", "--download-only", *(f"{p}/{suite}" for p in packages)],
            environ=apt_environ(ctx.environ),
            cwd=building,
            echo=ctx.echo,
        )
        shutil.rmtree(state)
        return publish(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
