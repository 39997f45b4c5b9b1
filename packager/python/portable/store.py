"""The built runtimes in the cache, and which one `--python runtime:3.11` means.

Each runtime is one directory `portable-runtimes/cpython-3.11.2-x86_64-linux-gnu.2.17-KEY`
(an install prefix: bin/, lib/, include/) with a manifest that says what it was built
from. Looking one up reads a few small JSON files and runs nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core.context import cache_root
from packager.core.errors import InterpreterError
from packager.python.portable.spec import RuntimeSelector, parse_selector

MANIFEST = "packager-runtime.json"
MANIFEST_SCHEMA = 1
CACHE_SUBDIR = "portable-runtimes"


@dataclass(frozen=True)
class Runtime:
    """One built runtime: where it is and what it is."""

    prefix: str
    version: str  # "3.11.2"
    glibc: tuple[int, int]
    arch: str
    key: str  # the digest of everything it was built from
    manifest: Mapping[str, object]

    @property
    def short_version(self) -> str:
        """ "3.11"."""
        return ".".join(self.version.split(".")[:2])

    @property
    def glibc_text(self) -> str:
        """The floor as text, "2.17"."""
        return f"{self.glibc[0]}.{self.glibc[1]}"

    @property
    def executable(self) -> str:
        """bin/python3.X inside the prefix."""
        return os.path.join(self.prefix, "bin", f"python{self.short_version}")

    @property
    def selector(self) -> str:
        """How --python names exactly this runtime."""
        return f"runtime:{self.version}@{self.glibc_text}/{self.arch}"


def runtimes_root(cache_dir: str | None) -> str | None:
    """The directory that holds the built runtimes, or None without a cache directory."""
    return os.path.join(cache_dir, CACHE_SUBDIR) if cache_dir else None


def entry_name(version: str, arch: str, glibc: str, key: str) -> str:
    """A runtime's directory name: readable first, unique by its key."""
    return f"cpython-{version}-{arch}-linux-gnu.{glibc}-{key[:16]}"


def read_runtime(prefix: str) -> Runtime | None:
    """The runtime in `prefix`, or None if it has no readable manifest."""
    try:
        with open(os.path.join(prefix, MANIFEST), encoding="utf-8") as stream:
            manifest = json.load(stream)
        major, minor = (int(part) for part in str(manifest["glibc"]).split("."))
        return Runtime(
            prefix=prefix,
            version=str(manifest["python"]),
            glibc=(major, minor),
            arch=str(manifest["arch"]),
            key=str(manifest["key"]),
            manifest=manifest,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def list_runtimes(cache_dir: str | None) -> list[Runtime]:
    """Every complete runtime in the cache: newest CPython first, then lowest floor, then the
    newest recipe (an entry an older packager built stays usable, but is not preferred),
    then the one published last (rebuilt from updated sources: a Debian security release)."""
    root = runtimes_root(cache_dir)
    if root is None or not os.path.isdir(root):
        return []
    found = [
        runtime
        for name in sorted(os.listdir(root))
        if name.startswith("cpython-")
        and (runtime := read_runtime(os.path.join(root, name))) is not None
    ]
    return sorted(
        found,
        key=lambda r: (_version_key(r.version), _neg(r.glibc), _recipe(r), _published(r)),
        reverse=True,
    )


def _published(runtime: Runtime) -> int:
    """When the entry was renamed into place: its status-change time, which the times a
    build gives every file (SOURCE_DATE_EPOCH) leave alone."""
    try:
        return os.stat(runtime.prefix).st_ctime_ns
    except OSError:
        return 0


def _recipe(runtime: Runtime) -> int:
    recipe = runtime.manifest.get("recipe", 0)
    return recipe if isinstance(recipe, int) else 0


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _neg(floor: tuple[int, int]) -> tuple[int, int]:
    return (-floor[0], -floor[1])


def find_runtime(selector: RuntimeSelector, cache_dir: str | None) -> Runtime:
    """The best built runtime for `selector`, or InterpreterError saying how to build one."""
    for runtime in list_runtimes(cache_dir):
        if selector.accepts(runtime.version, runtime.glibc, runtime.arch):
            return runtime
    version = f"3.{selector.minor}" + (f".{selector.micro}" if selector.micro is not None else "")
    floor = selector.max_glibc or (2, 17)
    raise InterpreterError(
        f"no portable CPython {version} runtime for {selector.arch} has been built",
        path=runtimes_root(cache_dir),
        fix=f"packager runtime build --python {version} --glibc {floor[0]}.{floor[1]}",
    )


def find_runtime_interpreter(text: str, environ: Mapping[str, str]) -> str | None:
    """For --python `runtime:3.11[...]`, the built runtime's bin/python3.X; else None.

    None means `text` is not a runtime selector (a path or a command name); a selector
    that matches no built runtime raises InterpreterError.
    """
    selector = parse_selector(text)
    if selector is None:
        return None
    return find_runtime(selector, cache_root(environ)).executable
