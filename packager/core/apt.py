"""apt for packager's own downloads: a private state, and the machine's Debian mirror.

packager fetches Debian packages itself (source packages for a portable runtime, a
target's binary packages, debootstrap roots) with an apt state of its own, so the host's
apt configuration is neither used nor changed; apt still checks every file against the
suite's signed indexes (Debian's archive keyring). The mirror is the one the machine
already uses, so a company mirror or a proxy keeps working: read from apt's own files
(deb822 `*.sources` and one-line `*.list`), or given with PACKAGER_DEBIAN_MIRROR (and
PACKAGER_DEBIAN_SECURITY_MIRROR).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from packager.core.errors import ToolError

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MIRROR_VARIABLE = "PACKAGER_DEBIAN_MIRROR"
SECURITY_VARIABLE = "PACKAGER_DEBIAN_SECURITY_MIRROR"
# Debian's suites, by codename and by alias: an entry naming one of these is Debian's.
_DEBIAN_SUITES = frozenset(
    {"buster", "bullseye", "bookworm", "trixie", "forky", "sid", "stable", "testing",
     "unstable", "oldstable"}
)  # fmt: skip


@dataclass(frozen=True)
class DebianMirrors:
    """Where Debian's packages and its security updates come from."""

    archive: str  # e.g. http://mirror.example/debian
    security: str | None  # e.g. http://mirror.example/debian-security


def debian_mirrors(environ: Mapping[str, str], root: str = "/") -> DebianMirrors:
    """The mirrors of PACKAGER_DEBIAN_MIRROR, else of the machine's apt sources."""
    given = environ.get(MIRROR_VARIABLE, "").strip()
    if given:
        return DebianMirrors(given.rstrip("/"), environ.get(SECURITY_VARIABLE) or None)
    archive: str | None = None
    security: str | None = None
    for uri, suites in _entries(root):
        bases = {suite.split("-", 1)[0] for suite in suites}
        if not bases & _DEBIAN_SUITES:
            continue
        if any(suite.endswith("-security") for suite in suites):
            security = security or uri
        else:
            archive = archive or uri
    if archive is None:
        raise ToolError(
            "apt's sources name no Debian archive to fetch packages from",
            path=os.path.join(root, "etc/apt"),
            fix=f"set {MIRROR_VARIABLE} to a Debian mirror's URL (and {SECURITY_VARIABLE} "
            "to its security archive)",
        )
    return DebianMirrors(archive, security)


def _entries(root: str) -> Iterator[tuple[str, list[str]]]:
    """(URI, suites) of every binary or source entry in apt's configuration, in apt's order."""
    etc = os.path.join(root, "etc", "apt")
    for path in [os.path.join(etc, "sources.list"), *sorted(glob.glob(f"{etc}/sources.list.d/*"))]:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            yield from _deb822_entries(text)
        elif path.endswith(".list"):
            yield from _one_line_entries(text)


def _one_line_entries(text: str) -> Iterator[tuple[str, list[str]]]:
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] not in ("deb", "deb-src"):
            continue
        start = 1
        if len(words) > 1 and words[1].startswith("["):  # [arch=amd64 signed-by=...]
            start = next((i + 1 for i, w in enumerate(words) if w.endswith("]")), len(words))
        if len(words) >= start + 2:
            yield words[start].rstrip("/"), [words[start + 1]]


def _deb822_entries(text: str) -> Iterator[tuple[str, list[str]]]:
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri.rstrip("/"), fields.get("suites", "").split()


def private_apt_options(state: str, sources: str, architecture: str | None = None) -> list[str]:
    """apt options that point every file apt reads or writes into `state` (a directory the
    caller owns), with `sources` as its sources.list; `architecture` (Debian's name) makes
    another architecture apt's own."""
    lists = os.path.join(state, "lists", "partial")
    archives = os.path.join(state, "cache", "archives", "partial")
    parts = os.path.join(state, "sources.list.d")
    for directory in (lists, archives, parts, os.path.join(state, "preferences.d")):
        os.makedirs(directory, exist_ok=True)
    # An empty package status: apt would otherwise map a name to the version installed
    # on the host (bzip2 1.0.8-5 from bookworm) and look for that in another suite.
    status = os.path.join(state, "status")
    with open(status, "w", encoding="utf-8"):
        pass
    source_list = os.path.join(state, "sources.list")
    with open(source_list, "w", encoding="utf-8") as stream:
        stream.write(sources)
    settings = {
        "Dir::Etc::SourceList": source_list,
        "Dir::Etc::SourceParts": parts,
        "Dir::Etc::Preferences": os.path.join(state, "preferences"),
        "Dir::Etc::PreferencesParts": os.path.join(state, "preferences.d"),
        "Dir::State": state,
        "Dir::State::status": status,
        "Dir::Cache": os.path.join(state, "cache"),
        # The private directories belong to the caller; apt's unprivileged download
        # user could not write into them.
        "APT::Sandbox::User": "root" if os.geteuid() == 0 else "",
        "Acquire::Languages": "none",
        "APT::Architecture": architecture or "",
        "APT::Architectures": architecture or "",
    }
    return [f"-o{key}={value}" for key, value in settings.items() if value]


def apt_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """What apt-get runs with: the path, home and proxies of `environ`, in the C locale."""
    keep = ("PATH", "HOME", "http_proxy", "https_proxy", "no_proxy")
    env = {key: environ[key] for key in keep if key in environ}
    env["LC_ALL"] = "C"
    return env
