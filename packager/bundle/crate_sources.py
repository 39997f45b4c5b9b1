"""Where the Rust crates compiled into a program lie as cargo unpacked them, and the
licence each states and ships.

- The crates are those of the crate's Cargo.lock from a registry or git (sbom_ids.py);
  the app's own path crates are the app.
- A registry crate is `$CARGO_HOME/registry/src/REGISTRY/NAME-VERSION/`; a git crate is
  found in the checkout of its commit, `$CARGO_HOME/git/checkouts/REPO/REV/`, a few
  folders deep, by the name and version of its Cargo.toml (a workspace's inherited
  `version` and `license` read from the checkout's workspace). CARGO_HOME defaults to
  ~/.cargo.
- Its licence is Cargo.toml's `license` (an SPDX expression; the old `/` read as OR);
  its texts are its `license-file` and the LICENSE*, LICENCE*, UNLICENSE*, COPYING*,
  NOTICE* and COPYRIGHT* files at its top.
- Reads are bounded: a file over 4 MiB is no Cargo.toml or licence text, and a file
  whose real path lies outside the crate's folder (a git crate: outside its checkout,
  where its files may link to the repository's top) is not read.
"""

from __future__ import annotations

import glob
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packager.bundle.sbom_ids import Crate, cargo_crates

MAX_FILE_BYTES = 4 * 1024 * 1024
_TEXT_NAME = re.compile(r"(un)?(licen[cs]e|copying|notice|copyright)([._-].*)?", re.IGNORECASE)
_GIT_DEPTH = 3  # how many folders below a checkout's top a git crate is looked for
_NOT_SEARCHED = frozenset({".git", "target"})


@dataclass(frozen=True)
class CrateSource:
    """A crate of Cargo.lock and what its unpacked source says of its licence."""

    crate: Crate
    folder: str | None  # where cargo unpacked it; None when it is not there
    licence: str = ""  # Cargo.toml's `license`; "" when it states none
    texts: tuple[str, ...] = ()  # its licence files (real paths)


def cargo_home(environ: Mapping[str, str]) -> str | None:
    """CARGO_HOME, else ~/.cargo; None without either variable."""
    if environ.get("CARGO_HOME"):
        return environ["CARGO_HOME"]
    home = environ.get("HOME")
    return os.path.join(home, ".cargo") if home else None


def crate_sources(package_dir: str | None, environ: Mapping[str, str]) -> list[CrateSource]:
    """Each registry and git crate of the Cargo.lock of `package_dir` (or of the workspace
    above it), with its source's licence; [] without a crate or a lock file."""
    home = cargo_home(environ)
    return [find_crate_source(crate, home) for crate in cargo_crates(package_dir)]


def find_crate_source(crate: Crate, home: str | None) -> CrateSource:
    """`crate`'s licence and licence files, from its source under the cargo home `home`;
    without them when cargo's copy is not found."""
    found = None
    if home and crate.source.startswith("git+"):
        found = _git_folder(crate, home)
    elif home:
        found = _registry_folder(crate, home)
    if found is None:
        return CrateSource(crate, None)
    folder, bound = found
    manifest = _Manifest.read(folder, bound)
    candidates = [
        os.path.join(folder, name) for name in _entries(folder) if _TEXT_NAME.fullmatch(name)
    ]
    licence_file = manifest.field("license-file")
    if licence_file:
        candidates.insert(0, os.path.join(manifest.base("license-file"), licence_file))
    texts = [text for text in (_text(path, bound) for path in candidates) if text]
    licence = re.sub(r"\s*/\s*", " OR ", manifest.field("license").strip())
    return CrateSource(crate, folder, licence, tuple(dict.fromkeys(texts)))


def _registry_folder(crate: Crate, home: str) -> tuple[str, str] | None:
    """The folder cargo unpacked a registry crate into, and the bound of its reads."""
    registries = glob.escape(os.path.join(home, "registry", "src"))
    pattern = os.path.join(registries, "*", glob.escape(f"{crate.name}-{crate.version}"))
    for folder in sorted(glob.glob(pattern)):
        if os.path.isfile(os.path.join(folder, "Cargo.toml")):
            return folder, os.path.realpath(folder)
    return None


def _git_folder(crate: Crate, home: str) -> tuple[str, str] | None:
    """The folder of a git crate in cargo's checkout of its commit (the lock's
    `#COMMIT`; a checkout is named by the commit's first digits), and the checkout."""
    commit = crate.source.rpartition("#")[2] if "#" in crate.source else ""
    checkouts = glob.escape(os.path.join(home, "git", "checkouts"))
    for checkout in sorted(glob.glob(os.path.join(checkouts, "*", "*"))):
        if not os.path.isdir(checkout) or not commit.startswith(os.path.basename(checkout)):
            continue
        bound = os.path.realpath(checkout)
        for folder in _crate_folders(checkout):
            manifest = _Manifest.read(folder, bound)
            if (manifest.field("name"), manifest.field("version")) == (crate.name, crate.version):
                return folder, bound
    return None


def _crate_folders(checkout: str) -> list[str]:
    """The folders of a checkout, up to _GIT_DEPTH below its top, that hold a Cargo.toml."""
    found: list[str] = []
    for folder, folders, files in os.walk(checkout):
        depth = os.path.relpath(folder, checkout).count(os.sep) + (folder != checkout)
        folders[:] = [] if depth >= _GIT_DEPTH else sorted(set(folders) - _NOT_SEARCHED)
        if "Cargo.toml" in files:
            found.append(folder)
    return found


@dataclass(frozen=True)
class _Manifest:
    """A crate's [package] and, for what it inherits, its workspace's [workspace.package]."""

    folder: str
    package: Mapping[str, Any]
    workspace: Mapping[str, Any]
    workspace_dir: str

    @classmethod
    def read(cls, folder: str, bound: str) -> _Manifest:
        """The manifest of the crate in `folder`; its workspace looked for up to `bound`."""
        package = _toml(os.path.join(folder, "Cargo.toml"), bound).get("package", {})
        package = package if isinstance(package, dict) else {}
        inherits = any(
            isinstance(value, dict) and value.get("workspace") is True for value in package.values()
        )
        above = os.path.dirname(os.path.realpath(folder))
        while inherits and (above + os.sep).startswith(bound + os.sep):
            workspace = _toml(os.path.join(above, "Cargo.toml"), bound).get("workspace")
            if isinstance(workspace, dict):
                inherited = workspace.get("package", {})
                return cls(folder, package, inherited if isinstance(inherited, dict) else {}, above)
            above = os.path.dirname(above)
        return cls(folder, package, {}, folder)

    def field(self, key: str) -> str:
        """[package] `key` as a string, from the workspace when it says `workspace = true`;
        "" when it has none."""
        value = self.package.get(key)
        if isinstance(value, dict) and value.get("workspace") is True:
            value = self.workspace.get(key)
        return value if isinstance(value, str) else ""

    def base(self, key: str) -> str:
        """The folder a path of field `key` is relative to: the workspace's for an
        inherited one."""
        value = self.package.get(key)
        return self.workspace_dir if isinstance(value, dict) else self.folder


def _entries(folder: str) -> list[str]:
    """The names in `folder`, sorted; [] when it cannot be listed."""
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def _inside(path: str, bound: str) -> str | None:
    """The real path of `path` when it is a file inside `bound` of at most
    MAX_FILE_BYTES; None otherwise."""
    real = os.path.realpath(path)
    if not real.startswith(bound.rstrip(os.sep) + os.sep) or not os.path.isfile(real):
        return None
    return real if os.path.getsize(real) <= MAX_FILE_BYTES else None


def _text(path: str, bound: str) -> str | None:
    """`path` as a licence text to copy (its real path); None for one outside `bound`,
    too large, empty or no file."""
    real = _inside(path, bound)
    return real if real and os.path.getsize(real) > 0 else None


def _toml(path: str, bound: str) -> dict[str, Any]:
    """The TOML file `path` (inside `bound`, bounded in size); {} when unreadable."""
    real = _inside(path, bound)
    if real is None:
        return {}
    try:
        with open(real, "rb") as handle:
            return tomllib.loads(handle.read(MAX_FILE_BYTES).decode("utf-8", errors="replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
