"""Where the licence texts of a bundle's parts are found on the build machine.

- A file a Debian package installed: the package that owns it (`dpkg-query -S` on this
  machine; a target's root is read through its own `var/lib/dpkg/info/*.list`), and that
  package's `usr/share/doc/PKG/copyright`, following the doc folder's symlinks (Debian
  links `libpython3.11-stdlib` to `libpython3.11-minimal`), inside the root.
- A distribution pip installed into site-packages: the licence files of its `.dist-info`
  (PEP 639's `licenses/` folder, LICENSE*, COPYING*, NOTICE*), else what its METADATA's
  `License-Expression` or `License` says; the files it covers from its RECORD.
- The app: `license-file` of the crate's Cargo.toml, else its `license` expression.
"""

from __future__ import annotations

import email.message
import email.parser
import glob
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packager.bundle.dpkg_query import dpkg_query
from packager.outputs.deb import parse_dpkg_search

_WHEEL_LICENCE = re.compile(r"(licen[cs]e|copying|notice|authors)([.-].*)?", re.IGNORECASE)
_MAX_LINKS = 16
_DPKG_INFO = "var/lib/dpkg/info"


@dataclass(frozen=True)
class Distribution:
    """One distribution of site-packages and what its .dist-info says about its licence."""

    name: str
    version: str
    licence: str  # License-Expression, else License (its first line); "" when neither
    texts: tuple[str, ...]  # licence files inside its .dist-info, absolute
    top_level: tuple[str, ...]  # what it installed, relative to site-packages ("pkg/")


def debian_owners(paths: Iterable[str], sysroot: str, environ: Mapping[str, str]) -> dict[str, str]:
    """{path: Debian package} for each of `paths` (absolute, inside `sysroot`) that the
    dpkg database of `sysroot` knows; the others are left out."""
    wanted = {path: _variants(path, sysroot) for path in paths}
    queries = sorted({variant for variants in wanted.values() for variant in variants})
    if not queries:
        return {}
    if sysroot != "/" and not os.path.isdir(os.path.join(sysroot, _DPKG_INFO)):
        return _owners_by_soname(paths, sysroot)
    owners = _host_owners(queries, environ) if sysroot == "/" else _root_owners(sysroot)
    found: dict[str, str] = {}
    for path, variants in wanted.items():
        owner = next((owners[v] for v in variants if v in owners), None)
        if owner is not None:
            found[path] = owner
    return found


def _variants(path: str, sysroot: str) -> list[str]:
    """How dpkg may list `path`: as given and resolved, with and without /usr (merged
    /usr), as paths of the root."""
    root = os.path.realpath(sysroot)
    found: list[str] = []
    for candidate in (os.path.abspath(path), os.path.realpath(path)):
        relative = os.path.relpath(candidate, root)
        if relative.startswith(".."):
            continue
        inside = "/" + relative
        toggled = inside[len("/usr") :] if inside.startswith("/usr/") else "/usr" + inside
        found.extend((inside, toggled))
    return list(dict.fromkeys(found))


def _host_owners(queries: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """`dpkg-query -S` of `queries` on this machine."""
    return parse_dpkg_search(dpkg_query(["-S", *queries], environ) or "")


def _owners_by_soname(paths: Iterable[str], sysroot: str) -> dict[str, str]:
    """For a root of unpacked packages with no dpkg database (`dpkg-deb -x`, as packager
    makes a target's root): the package Debian policy (8.1) names after each library's
    soname, libfoo.so.3 -> libfoo3, libbz2.so.1.0 -> libbz2-1.0 (else libfoo2, as
    libpython3.11 is), when the root has its doc folder. A library packaged under another
    name (libcrypto.so.3 in libssl3) is not found this way."""
    found: dict[str, str] = {}
    for path in paths:
        stem, dot_so, version = os.path.basename(path).partition(".so.")
        if not dot_so or not stem.startswith("lib"):
            continue
        names = [f"{stem}-{version}" if stem[-1].isdigit() else f"{stem}{version}", stem]
        docs = os.path.join(sysroot, "usr", "share", "doc")
        owner = next((name for name in names if os.path.exists(os.path.join(docs, name))), None)
        if owner is not None:
            found[path] = owner
    return found


def _root_owners(sysroot: str) -> dict[str, str]:
    """{path: package} of every file the root's dpkg database lists."""
    owners: dict[str, str] = {}
    for listing in sorted(glob.glob(os.path.join(sysroot, _DPKG_INFO, "*.list"))):
        package = os.path.basename(listing)[: -len(".list")].split(":")[0]
        with open(listing, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                owners.setdefault(line.rstrip("\n"), package)
    return owners


def debian_copyright(package: str, sysroot: str) -> str | None:
    """The path of `package`'s copyright file in `sysroot`, its doc folder's symlinks
    followed inside the root; None when it has none."""
    root = os.path.realpath(sysroot)
    folder = os.path.join(root, "usr", "share", "doc", package)
    for _ in range(_MAX_LINKS):
        if not os.path.islink(folder):
            break
        target = os.readlink(folder)
        if os.path.isabs(target):
            folder = os.path.join(root, target.lstrip("/"))
        else:
            folder = os.path.normpath(os.path.join(os.path.dirname(folder), target))
    notice = os.path.join(folder, "copyright")
    inside = os.path.realpath(notice).startswith(root.rstrip("/") + "/")
    return notice if inside and os.path.isfile(notice) else None


def distributions(site_packages: str) -> list[Distribution]:
    """Every distribution installed in `site_packages`, by name."""
    found: list[Distribution] = []
    if not os.path.isdir(site_packages):
        return found
    for entry in sorted(os.listdir(site_packages)):
        info = os.path.join(site_packages, entry)
        if entry.endswith(".dist-info") and os.path.isdir(info):
            found.append(_distribution(info, entry))
    return found


def _distribution(info: str, entry: str) -> Distribution:
    try:
        with open(os.path.join(info, "METADATA"), encoding="utf-8", errors="replace") as handle:
            metadata = email.parser.Parser().parse(handle, headersonly=True)
    except OSError:
        metadata = email.message.Message()
    name = metadata.get("Name") or entry.split("-")[0]
    version = metadata.get("Version") or ""
    licence = _stated_licence(metadata)
    texts = [
        os.path.join(directory, file_name)
        for directory, _, files in os.walk(os.path.join(info, "licenses"))
        for file_name in sorted(files)
    ]
    texts += [
        os.path.join(info, file_name)
        for file_name in sorted(os.listdir(info))
        if _WHEEL_LICENCE.fullmatch(file_name) and os.path.isfile(os.path.join(info, file_name))
    ]
    return Distribution(name, version, licence, tuple(sorted(texts)), _top_level(info, entry))


def _stated_licence(metadata: email.message.Message) -> str:
    """License-Expression; else a one-line License field that names a licence; else the
    licences its `License ::` classifiers name."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = (metadata.get("License") or "").strip()
    if (
        field
        and "\n" not in field
        and len(field) <= 80
        and not field.lower().startswith("copyright")
    ):
        return field
    classifiers = [
        value.split("::")[-1].strip()
        for value in metadata.get_all("Classifier") or []
        if value.startswith("License ::")
    ]
    return ", ".join(classifiers)


def _top_level(info: str, entry: str) -> tuple[str, ...]:
    """The first component of every path RECORD lists inside site-packages ("pkg/")."""
    names = {f"{entry}/"}
    try:
        with open(os.path.join(info, "RECORD"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                path = line.split(",")[0].strip().strip('"')
                if not path or path.startswith("..") or path.startswith("/"):
                    continue
                first, slash, _ = path.partition("/")
                names.add(f"{first}/" if slash else first)
    except OSError:
        pass
    return tuple(sorted(names))


def app_licence_file(package_dir: str | None) -> tuple[str | None, str | None]:
    """(the crate's `license-file` as a path, its `license` expression); Nones when the
    crate's Cargo.toml says nothing of it (or there is no crate)."""
    if package_dir is None:
        return None, None
    try:
        with open(os.path.join(package_dir, "Cargo.toml"), "rb") as handle:
            package = tomllib.load(handle).get("package", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None, None
    named = package.get("license-file")
    expression = package.get("license")
    path = os.path.join(package_dir, named) if isinstance(named, str) else None
    return (
        path if path is not None and os.path.isfile(path) else None,
        expression if isinstance(expression, str) else None,
    )
