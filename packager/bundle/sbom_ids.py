"""The identifiers an SBOM names its components by: SPDX licence expressions, package URLs,
and the versions of Debian packages and Rust crates.

- A licence is written as an SPDX expression only when it is one: every identifier is on
  `SPDX_IDS` (matched without regard to case, written as SPDX spells it) or a
  `LicenseRef-`, joined by AND, OR, WITH (an exception of `SPDX_EXCEPTIONS`) and
  parentheses, an identifier optionally ending in `+`. Anything else (Debian's `GPL-2+,
  BSD-3-clause`, a classifier's "MIT License") is kept as a licence name.
- A package URL follows the purl spec: `pkg:TYPE/NAME@VERSION?QUALIFIERS`, name and
  version percent-encoded (a Debian epoch's `:` as %3A, `+` as %2B); a PyPI name is
  normalized (lower case, `_` and `.` as `-`).
- A Debian package's version and architecture come from `dpkg-query -W` on this machine,
  or from `var/lib/dpkg/status` of a target's root; a root made of unpacked packages
  (no status file) gives the version at the top of the package's
  `usr/share/doc/PKG/changelog.Debian[.ARCH].gz` and the target's architecture.
- The Rust crates are those of the crate's Cargo.lock (the package folder's, else the
  nearest one above it: a workspace's) that come from a registry or git (`source`).
"""

from __future__ import annotations

import gzip
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from packager.bundle.dpkg_query import dpkg_query
from packager.bundle.licence_sources import debian_copyright

# A small list: the licences of what bundles ship (CPython, Debian's libraries, wheels,
# crates), as SPDX spells them.
SPDX_IDS = frozenset(
    [
        "0BSD",
        "AFL-2.1",
        "AGPL-3.0-only",
        "AGPL-3.0-or-later",
        "Apache-1.1",
        "Apache-2.0",
        "Artistic-1.0",
        "Artistic-2.0",
        "BSD-1-Clause",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "BSD-4-Clause",
        "BSL-1.0",
        "bzip2-1.0.6",
        "CC-BY-4.0",
        "CC0-1.0",
        "CDDL-1.0",
        "curl",
        "EPL-2.0",
        "FSFAP",
        "FTL",
        "GPL-1.0-or-later",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "HPND",
        "ICU",
        "IJG",
        "ISC",
        "LGPL-2.0-only",
        "LGPL-2.0-or-later",
        "LGPL-2.1-only",
        "LGPL-2.1-or-later",
        "LGPL-3.0-only",
        "LGPL-3.0-or-later",
        "Libpng",
        "libtiff",
        "MIT",
        "MIT-0",
        "MPL-1.1",
        "MPL-2.0",
        "NCSA",
        "OpenSSL",
        "PSF-2.0",
        "Python-2.0",
        "Python-2.0.1",
        "Ruby",
        "TCL",
        "Unicode-3.0",
        "Unicode-DFS-2016",
        "Unlicense",
        "X11",
        "Zlib",
        "zlib-acknowledgement",
        "ZPL-2.1",
    ]
)
SPDX_EXCEPTIONS = frozenset(
    [
        "Autoconf-exception-3.0",
        "Bison-exception-2.2",
        "Classpath-exception-2.0",
        "GCC-exception-3.1",
        "LLVM-exception",
        "OpenSSL-exception",
    ]
)
_IDS = {name.lower(): name for name in SPDX_IDS}
_EXCEPTIONS = {name.lower(): name for name in SPDX_EXCEPTIONS}
_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9.+-]+)")
_OPERATORS = ("AND", "OR")
_PURL_SAFE = ".-_~"
_DPKG_STATUS = "var/lib/dpkg/status"
_CHANGELOG = re.compile(r"changelog\.Debian(\.[a-z0-9]+)?\.gz")
_CHANGELOG_TOP = re.compile(r"\S+ \(([^()\s]+)\) ")


def spdx_expression(text: str) -> str | None:
    """`text` as a valid SPDX expression (identifiers spelled as SPDX does), else None."""
    tokens = _tokens(text)
    if not tokens:
        return None
    out: list[str] = []
    position = _expression(tokens, 0, out)
    if position != len(tokens):
        return None
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def _tokens(text: str) -> list[str] | None:
    tokens: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _expression(tokens: list[str], position: int, out: list[str]) -> int:
    """Parse `term (AND|OR term)*` from `position`; the position after it, -1 if invalid."""
    position = _term(tokens, position, out)
    while 0 <= position < len(tokens) and tokens[position].upper() in _OPERATORS:
        out.append(tokens[position].upper())
        position = _term(tokens, position + 1, out)
    return position


def _term(tokens: list[str], position: int, out: list[str]) -> int:
    """`( expression )` or `id[+] [WITH exception]`; the position after it, -1 if invalid."""
    if position < 0 or position >= len(tokens):
        return -1
    if tokens[position] == "(":
        out.append("(")
        position = _expression(tokens, position + 1, out)
        if position < 0 or position >= len(tokens) or tokens[position] != ")":
            return -1
        out.append(")")
        return position + 1
    licence = _identifier(tokens[position])
    if licence is None:
        return -1
    out.append(licence)
    position += 1
    if position < len(tokens) and tokens[position].upper() == "WITH":
        exception = (
            _EXCEPTIONS.get(tokens[position + 1].lower()) if position + 1 < len(tokens) else None
        )
        if exception is None:
            return -1
        out += ["WITH", exception]
        position += 2
    return position


def _identifier(token: str) -> str | None:
    """A licence identifier as SPDX spells it (`+` kept), a LicenseRef- as given; None."""
    if token.startswith("LicenseRef-") and len(token) > len("LicenseRef-"):
        return token
    base, plus = (token[:-1], "+") if token.endswith("+") else (token, "")
    known = _IDS.get(base.lower())
    return known + plus if known else None


def licence_entry(text: str) -> list[dict[str, Any]]:
    """CycloneDX `licenses` for a stated licence: an expression when `text` is a valid
    SPDX one, else the text as a licence name; [] for no licence."""
    if not text.strip():
        return []
    expression = spdx_expression(text)
    if expression is not None:
        return [{"expression": expression}]
    return [{"license": {"name": text.strip()}}]


def purl(kind: str, name: str, version: str = "", *, namespace: str = "", **qualifiers: str) -> str:
    """A package URL: pkg:KIND/[NAMESPACE/]NAME[@VERSION][?key=value&...] (qualifiers
    sorted, empty ones left out)."""
    if kind == "pypi":
        name = re.sub(r"[-_.]+", "-", name).lower()
    text = f"pkg:{kind}/"
    text += f"{quote(namespace, safe=_PURL_SAFE)}/" if namespace else ""
    text += quote(name, safe=_PURL_SAFE)
    if version:
        text += f"@{quote(version, safe=_PURL_SAFE)}"
    pairs = [
        f"{key}={quote(value, safe=_PURL_SAFE)}"
        for key, value in sorted(qualifiers.items())
        if value
    ]
    return text + ("?" + "&".join(pairs) if pairs else "")


@dataclass(frozen=True)
class DebianPackage:
    """An installed Debian package's version and architecture."""

    version: str
    arch: str


def debian_packages(
    names: Iterable[str], sysroot: str, environ: Mapping[str, str], arch: str = ""
) -> dict[str, DebianPackage]:
    """{package: its version and architecture} for each of `names` the dpkg database of
    `sysroot` knows (this machine's through dpkg-query; a root's through its status file,
    else its changelogs, `arch` being the root's architecture)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    if sysroot != "/":
        return _root_packages(wanted, sysroot, arch)
    listed = dpkg_query(
        ["-W", "-f", "${Package}\\t${Version}\\t${Architecture}\\n", *wanted], environ
    )
    found: dict[str, DebianPackage] = {}
    for line in (listed or "").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1]:
            found.setdefault(parts[0], DebianPackage(parts[1], parts[2]))
    return found


def _root_packages(wanted: list[str], sysroot: str, arch: str) -> dict[str, DebianPackage]:
    """debian_packages for a target's root: its status file, else its changelogs."""
    installed = _status_packages(os.path.join(sysroot, _DPKG_STATUS))
    found = {name: installed[name] for name in wanted if name in installed}
    for name in wanted:
        version = "" if name in found else _changelog_version(name, sysroot)
        if version:
            found[name] = DebianPackage(version, arch)
    return found


def _changelog_version(package: str, sysroot: str) -> str:
    """The version at the top of `package`'s Debian changelog in `sysroot` (a binNMU's
    changelog.Debian.ARCH.gz first); "" when it has none."""
    notice = debian_copyright(package, sysroot)
    folder = os.path.dirname(notice) if notice else ""
    names = sorted(
        (name for name in (os.listdir(folder) if folder else []) if _CHANGELOG.fullmatch(name)),
        key=len,
        reverse=True,
    )
    for name in names:
        try:
            with gzip.open(os.path.join(folder, name), "rt", errors="replace") as handle:
                match = _CHANGELOG_TOP.match(handle.readline())
        except (OSError, EOFError):
            continue
        if match:
            return match.group(1)
    return ""


def _status_packages(status: str) -> dict[str, DebianPackage]:
    """{package: version, architecture} of the installed stanzas of a dpkg status file."""
    try:
        with open(status, encoding="utf-8", errors="replace") as handle:
            stanzas = handle.read().split("\n\n")
    except OSError:
        return {}
    found: dict[str, DebianPackage] = {}
    for stanza in stanzas:
        fields = dict(
            line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != " "
        )
        name = fields.get("Package", "").strip()
        version = fields.get("Version", "").strip()
        if name and version and fields.get("Status", " installed").endswith(" installed"):
            found.setdefault(name, DebianPackage(version, fields.get("Architecture", "").strip()))
    return found


@dataclass(frozen=True)
class Crate:
    """One crate of a Cargo.lock."""

    name: str
    version: str
    source: str  # as Cargo.lock gives it: "registry+URL", "sparse+URL", "git+URL"


def cargo_crates(package_dir: str | None) -> list[Crate]:
    """The registry and git crates of the Cargo.lock of `package_dir` (or of the workspace
    above it), by name and version; [] without a crate or a lock file."""
    lock = _cargo_lock(package_dir) if package_dir else None
    if lock is None:
        return []
    try:
        with open(lock, "rb") as handle:
            packages = tomllib.load(handle).get("package", [])
    except (OSError, tomllib.TOMLDecodeError):
        return []
    crates = {
        (str(item["name"]), str(item["version"])): Crate(
            str(item["name"]), str(item["version"]), str(item["source"])
        )
        for item in packages
        if isinstance(item, dict) and {"name", "version", "source"} <= item.keys()
    }
    return [crates[key] for key in sorted(crates)]


def _cargo_lock(package_dir: str) -> str | None:
    folder = os.path.abspath(package_dir)
    while True:
        candidate = os.path.join(folder, "Cargo.lock")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
