"""Fetch a runtime's sources as Debian source packages, once, into the cache.

CPython comes from the release that ships that version (python3.11 from bookworm,
python3.13 from trixie); the libraries always from LIBRARY_SUITE.

apt-get runs with a private sources list, state and cache directory, so the host's apt
configuration is neither used nor changed (only its Debian mirror is read:
packager.core.apt); it checks every file against the suite's
signed indexes (Debian's archive keyring). The downloads are published whole into
`sources/debian-<suite>/` and reused offline from then on.
"""

from __future__ import annotations

import os
import shutil

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
from packager.python.portable.sources import DEBIAN_SUITES, DEPENDENCIES
from packager.python.portable.spec import RuntimeSpec

# The libraries come from one release for every CPython: bookworm's OpenSSL 3.0 (an LTS
# line Debian maintains), and one set of libraries built once for all runtimes.
LIBRARY_SUITE = "bookworm"


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


def sources_list(suite: str, mirrors: DebianMirrors) -> str:
    """The private sources.list: the suite and its security updates, sources only.

    (`-updates` is left out: it carries volatile data packages, none of which a runtime
    needs, and its index may name files the mirror no longer has.)
    """
    options = f"[signed-by={KEYRING}]"
    text = f"deb-src {options} {mirrors.archive} {suite} main\n"
    if mirrors.security:
        text += f"deb-src {options} {mirrors.security} {suite}-security main\n"
    return text


def fetch_python(spec: RuntimeSpec, ctx: Context, root: str) -> str:
    """The directory holding Debian's python3.X source package, fetched the first time."""
    suite = suite_for(spec)
    python = f"python{spec.short_version}"
    return _fetch(suite, [python], python, ctx, root)


def fetch_libraries(ctx: Context, root: str) -> str:
    """The directory holding the libraries' source packages, fetched the first time."""
    return _fetch(LIBRARY_SUITE, library_packages(), "libraries", ctx, root)


def _fetch(suite: str, packages: list[str], label: str, ctx: Context, root: str) -> str:
    final = os.path.join(root, "sources", f"debian-{suite}-{label}")
    if os.path.isdir(final):
        return final
    apt_get = runner.require(
        "apt-get", ctx.environ, fix="install apt, or give --source and --deps-source"
    )
    if not os.path.isfile(KEYRING):
        raise ToolError(
            "Debian's archive keyring is missing",
            path=KEYRING,
            fix="apt-get install debian-archive-keyring, or give --source and --deps-source",
        )
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
