"""Fetch a runtime's sources as Debian source packages, once, into the cache.

apt-get runs with a private sources list, state and cache directory, so the host's apt
configuration is neither read nor changed; it checks every file against the suite's
signed indexes (Debian's archive keyring). The downloads are published whole into
`sources/debian-<suite>/` and reused offline from then on.
"""

from __future__ import annotations

import os
import shutil

from packager import runner
from packager.cache import new_entry_dir, publish
from packager.context import Context
from packager.errors import ToolError, UsageError
from packager.portable.sources import DEBIAN_SUITES, DEPENDENCIES
from packager.portable.spec import RuntimeSpec

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SECURITY = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def suite_for(spec: RuntimeSpec) -> str:
    """The Debian suite whose python3.X a runtime is built from, or UsageError."""
    suite = DEBIAN_SUITES.get(spec.minor)
    if suite is None:
        known = ", ".join(f"3.{minor}" for minor in sorted(DEBIAN_SUITES))
        raise UsageError(
            f"no Debian release ships CPython {spec.short_version} (it has {known})",
            fix="give --source Python-3.X.Y.tgz and --deps-source DIR",
        )
    return suite


def packages_for(spec: RuntimeSpec) -> list[str]:
    """The source packages to fetch: python3.X and every dependency's package."""
    return [f"python{spec.short_version}", *(dep.debian_package for dep in DEPENDENCIES)]


def sources_list(suite: str) -> str:
    """The private sources.list: the suite and its security updates, sources only."""
    options = f"[signed-by={KEYRING}]"
    return (
        f"deb-src {options} {DEBIAN_MIRROR} {suite} main\n"
        f"deb-src {options} {DEBIAN_MIRROR} {suite}-updates main\n"
        f"deb-src {options} {DEBIAN_SECURITY} {suite}-security main\n"
    )


def fetch_sources(spec: RuntimeSpec, ctx: Context, root: str) -> str:
    """The directory holding the suite's source packages, downloading them the first time."""
    suite = suite_for(spec)
    final = os.path.join(root, "sources", f"debian-{suite}-python{spec.short_version}")
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
        options = _apt_options(state, suite)
        ctx.progress(f"fetching Debian {suite}'s source packages (apt-get update)…")
        runner.run([apt_get, *options, "update"], environ=_apt_env(ctx), echo=ctx.echo)
        ctx.progress(f"fetching Debian {suite}'s source packages (apt-get source)…")
        wanted = [f"{package}/{suite}" for package in packages_for(spec)]
        runner.run(
            [apt_get, *options, "source", "--download-only", *wanted],
            environ=_apt_env(ctx),
            cwd=building,
            echo=ctx.echo,
        )
        shutil.rmtree(state)
        return publish(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _apt_options(state: str, suite: str) -> list[str]:
    """apt options that point every file apt reads or writes into `state`."""
    lists = os.path.join(state, "lists", "partial")
    archives = os.path.join(state, "cache", "archives", "partial")
    parts = os.path.join(state, "sources.list.d")
    for directory in (lists, archives, parts, os.path.join(state, "preferences.d")):
        os.makedirs(directory, exist_ok=True)
    source_list = os.path.join(state, "sources.list")
    with open(source_list, "w", encoding="utf-8") as stream:
        stream.write(sources_list(suite))
    settings = {
        "Dir::Etc::SourceList": source_list,
        "Dir::Etc::SourceParts": parts,
        "Dir::Etc::Preferences": os.path.join(state, "preferences"),
        "Dir::Etc::PreferencesParts": os.path.join(state, "preferences.d"),
        "Dir::State": state,
        "Dir::Cache": os.path.join(state, "cache"),
        # The private directories belong to the caller; apt's unprivileged download
        # user could not write into them.
        "APT::Sandbox::User": "root" if os.geteuid() == 0 else "",
        "Acquire::Languages": "none",
    }
    return [f"-o{key}={value}" for key, value in settings.items() if value]


def _apt_env(ctx: Context) -> dict[str, str]:
    keep = ("PATH", "HOME", "http_proxy", "https_proxy", "no_proxy")
    env = {key: ctx.environ[key] for key in keep if key in ctx.environ}
    env["LC_ALL"] = "C"
    return env
