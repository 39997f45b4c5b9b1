"""The licence texts of what a portable runtime links into its modules, from its sources.

A runtime links about twenty libraries statically into its extension modules (OpenSSL in
`_ssl` and `_hashlib`, SQLite in `_sqlite3`, Tcl/Tk and X11 in `_tkinter`...). Their
notices come from the very sources the runtime was built from, named with their SHA-256
in its manifest: a Debian source package's `debian/copyright` (inside its
`.debian.tar.*`, found through the `.dsc` that lists the orig tarball and checked against
the SHA-256 it gives), else the upstream licence files at the top of the release tarball
(tkinter's libraries are fetched as release tarballs only), else, for a data package
(`x11proto-dev_…_all.deb`), its `usr/share/doc/PKG/copyright`. A source missing from the
cache is fetched again with the code that fetched it for the build (debian.py).

The texts are extracted once per runtime into `portable-runtimes/licences/KEY/` (one
folder per component and an `index.json`), published whole; the runtime itself is never
changed. CPython's own LICENSE.txt is in the runtime's lib/python3.X/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from packager.core import runner
from packager.core.cache import discard, new_entry_dir, publish
from packager.core.context import Context
from packager.core.errors import PackagerError
from packager.core.fsutil import sha256_file
from packager.python.portable import debian
from packager.python.portable.sources import DEPENDENCIES, GUI_DEPENDENCIES
from packager.python.portable.store import Runtime, runtimes_root

# Bump when what an entry holds changes: entries are then extracted again.
_FORMAT = 1
INDEX = "index.json"
# The extension modules (by name) each library is linked into, as the recipes link them
# (recipes.py, tk_recipes.py) and their symbols show: zlib also backs binascii's crc32,
# libedit's readline needs ncurses' terminfo, every tkinter library is inside _tkinter.
MODULES: Mapping[str, tuple[str, ...]] = {
    "zlib": ("zlib", "binascii", "_tkinter"),
    "bzip2": ("_bz2",),
    "xz": ("_lzma",),
    "libffi": ("_ctypes",),
    "sqlite": ("_sqlite3",),
    "libuuid": ("_uuid",),
    "ncurses": ("_curses", "_curses_panel", "readline"),
    "libedit": ("readline",),
    "openssl": ("_ssl", "_hashlib"),
    **{component.name: ("_tkinter",) for component in GUI_DEPENDENCIES},
}
# Upstream licence files at the top of a release tarball (and FreeType's docs/FTL.TXT,
# which its LICENSE.TXT points to).
_UPSTREAM = re.compile(
    r"[^/]+/((?:copying|licen[cs]e|copyright|notice)[^/]*|license\.terms|docs/ftl\.txt)",
    re.IGNORECASE,
)
_MAX_TEXT = 4 << 20  # a licence text larger than this is not one
_DSC_LINE = re.compile(r"\s*(?P<hash>[0-9a-f]{64}) \d+ (?P<name>\S+)")


@dataclass(frozen=True)
class SourceNotice:
    """The licence texts of one library a runtime links in, and the modules holding it."""

    component: str  # "openssl"
    version: str
    licence: str  # as the runtime's manifest names it ("Apache-2.0")
    texts: tuple[str, ...]  # extracted files, absolute paths in the cache entry
    origin: str  # where the texts come from ("openssl_3.0.20-1~deb12u2.debian.tar.xz")
    modules: tuple[str, ...]


def runtime_notices(runtime: Runtime, ctx: Context) -> tuple[list[SourceNotice], list[str]]:
    """(a notice per library of `runtime`, notes on those without texts), extracted into
    the cache the first time. An entry that lacks some texts (a source could not be
    fetched) is extracted again on the next use."""
    root = runtimes_root(ctx.cache_dir)
    if root is None:
        return [], ["no cache directory: the portable runtime's library licences are left out"]
    final = os.path.join(root, "licences", f"{runtime.key}-{_FORMAT}")
    if os.path.exists(final):
        found = _read_index(final)
        if found is not None and not found[1]:
            return found
        discard(final)
    building = new_entry_dir(os.path.dirname(final))
    if building is None:
        return [], [f"cannot write {final}: the runtime's library licences are left out"]
    ctx.progress("extracting the licence texts of the portable runtime's sources (once)")
    try:
        _extract_all(runtime, building, root, ctx)
        final = publish(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return _read_index(final) or ([], [f"{final}/{INDEX} is unreadable"])


def _read_index(entry: str) -> tuple[list[SourceNotice], list[str]] | None:
    """The notices and notes an entry's index records; None when it is unreadable."""
    try:
        with open(os.path.join(entry, INDEX), encoding="utf-8") as handle:
            index = json.load(handle)
        return _notices(entry, index), [str(note) for note in index["notes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _notices(entry: str, index: Any) -> list[SourceNotice]:
    """The notices of an index read from `entry` (JSON: its values are checked here)."""
    return [
        SourceNotice(
            str(item["component"]),
            str(item["version"]),
            str(item["licence"]),
            tuple(os.path.join(entry, str(name)) for name in item["texts"]),
            str(item["origin"]),
            tuple(MODULES.get(str(item["component"]), ())),
        )
        for item in index["components"]
    ]


def _extract_all(runtime: Runtime, into: str, root: str, ctx: Context) -> None:
    """Extract every library's texts into `into` and write its index."""
    sources = runtime.manifest.get("sources")
    items: list[dict[str, object]] = []
    notes: list[str] = []
    for component, facts in sorted(sources.items() if isinstance(sources, dict) else []):
        if component == "python" or not isinstance(facts, dict):
            continue
        try:
            texts, origin = _extract(component, facts, os.path.join(into, component), root, ctx)
        except (OSError, tarfile.TarError, PackagerError) as exc:
            texts, origin = [], f"unreadable ({exc})"
        if not texts:
            notes.append(f"no licence text found for {component} ({facts.get('file')}): {origin}")
        items.append(
            {
                "component": component,
                "version": str(facts.get("version", "")),
                "licence": str(facts.get("licence", "")),
                "texts": [f"{component}/{name}" for name in texts],
                "origin": origin,
            }
        )
    with open(os.path.join(into, INDEX), "w", encoding="utf-8") as handle:
        json.dump({"components": items, "notes": notes}, handle, indent=1, sort_keys=True)


def _extract(
    component: str, facts: Mapping[str, object], into: str, root: str, ctx: Context
) -> tuple[list[str], str]:
    """Write `component`'s licence texts into `into`; (their names, where they came from)."""
    name, digest = str(facts.get("file", "")), str(facts.get("sha256", ""))
    source = _locate(component, name, root, ctx)
    if source is None:
        return [], "the source is not in the cache and could not be fetched"
    if sha256_file(source) != digest:
        return [], f"{source} is not the file the runtime was built from (SHA-256 differs)"
    os.makedirs(into, exist_ok=True)
    if name.endswith("_all.deb"):
        return _from_deb(component, source, into, ctx), name
    debian_part = _debian_part(source, digest)
    if debian_part is not None:
        text = _member(debian_part, lambda member: member == "debian/copyright")
        if text:
            _write(into, "copyright", text[0][1])
            return ["copyright"], f"debian/copyright of {os.path.basename(debian_part)}"
    found = _member(source, lambda member: _UPSTREAM.fullmatch(member) is not None)
    for member, data in found:
        _write(into, member.split("/", 1)[1].replace("/", "_"), data)
    return sorted(member.split("/", 1)[1].replace("/", "_") for member, _ in found), name


def _locate(component: str, name: str, root: str, ctx: Context) -> str | None:
    """The cached source file `name`, fetched again (as for the build) when missing."""
    sources = os.path.join(root, "sources")
    for attempt in range(2):
        for folder in sorted(os.listdir(sources)) if os.path.isdir(sources) else []:
            path = os.path.join(sources, folder, name)
            if os.path.isfile(path):
                return path
        if attempt == 0 and not _fetch_again(component, ctx, root):
            return None
    return None


def _fetch_again(component: str, ctx: Context, root: str) -> bool:
    """Fetch the sources `component` is one of; whether it is one packager fetches."""
    if any(dep.name == component for dep in DEPENDENCIES):
        debian.fetch_libraries(ctx, root)
        return True
    if any(dep.name == component for dep in GUI_DEPENDENCIES):
        debian.fetch_gui(ctx, root)
        return True
    return False


def _debian_part(orig: str, digest: str) -> str | None:
    """The `.debian.tar.*` the `.dsc` beside `orig` lists with it, when its SHA-256
    matches what the .dsc says; None for a release tarball without a Debian part."""
    folder = os.path.dirname(orig)
    for dsc in sorted(n for n in os.listdir(folder) if n.endswith(".dsc")):
        with open(os.path.join(folder, dsc), encoding="utf-8", errors="replace") as handle:
            listed = {
                m["name"]: m["hash"] for line in handle if (m := _DSC_LINE.fullmatch(line.rstrip()))
            }
        if listed.get(os.path.basename(orig)) != digest:
            continue
        for name, expected in sorted(listed.items()):
            path = os.path.join(folder, name)
            if ".debian.tar." in name and os.path.isfile(path) and sha256_file(path) == expected:
                return path
    return None


def _member(archive: str, wanted: Callable[[str], bool]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each regular file of the tar `archive` that `wanted` takes."""
    with tarfile.open(archive) as tar:
        return _members_of(tar, wanted)


def _members_of(tar: tarfile.TarFile, wanted: Callable[[str], bool]) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for member in tar:
        name = member.name.removeprefix("./")
        if member.isfile() and member.size <= _MAX_TEXT and wanted(name):
            handle = tar.extractfile(member)
            if handle is not None:
                found.append((name, handle.read()))
    return found


def _from_deb(component: str, deb: str, into: str, ctx: Context) -> list[str]:
    """The copyright file a data package installs (unpacked with `dpkg-deb -x`: files
    only, no scripts, into a scratch folder removed afterwards, whatever happens)."""
    dpkg_deb = runner.require("dpkg-deb", ctx.environ, fix="install dpkg")
    scratch = os.path.join(into, ".unpacked")
    try:
        runner.run([dpkg_deb, "-x", deb, scratch], environ=ctx.environ, echo=ctx.echo)
        found = _copyright_files(os.path.join(scratch, "usr", "share", "doc"))
        if found:
            shutil.copyfile(found[0], os.path.join(into, "copyright"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ["copyright"] if found else []


def _copyright_files(docs: str) -> list[str]:
    """The regular files DOCS/PACKAGE/copyright that are inside DOCS once links are
    resolved (a link may point at this machine's files)."""
    inside = os.path.realpath(docs) + os.sep
    candidates = (
        os.path.join(docs, package, "copyright")
        for package in (os.listdir(docs) if os.path.isdir(docs) else [])
    )
    return sorted(
        path
        for path in candidates
        if os.path.realpath(path).startswith(inside) and os.path.isfile(path)
    )


def _write(folder: str, name: str, data: bytes) -> None:
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(data)
