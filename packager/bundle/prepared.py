"""A Python runtime prepared for shipping, once per interpreter, kept in the cache.

Preparing is the slow part of a bundle: copying and trimming the stdlib, precompiling it,
stripping libpython and lib-dynload. None of it depends on the binary
being bundled, so the result is cached under the cache's `runtime/` directory, keyed by
the machine, the interpreter and libpython files, every stdlib file (path, size, mtime),
the trim rules and the options; later bundles copy it. An entry holds:

    libpython                         the shared libpython (dynamic embeds), stripped
                                      (files needing a library a tree ships from the
                                      system have a run path to the tree's lib/ already)
    lib/python3.X/...                 the compiled pure-Python stdlib as mod.pyc files (the
                                      sources and __pycache__ instead, with sources)
    lib/python3.X/lib-dynload/        stdlib extension modules, stripped
    <site-packages>/                  the hook that restores the launcher's variables
    manifest.json                     the SHA-256 of each file above, written last

Every use checks each file against the manifest; a damaged entry is noted, removed and
prepared again.

Without a writable cache the same entry is built in a scratch directory and discarded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from packager.binary.elf_head import elf_files_under
from packager.bundle import stdlib
from packager.bundle.rpaths import add_library_entry, scrub_rpaths
from packager.bundle.strip import strip_files
from packager.core import cache
from packager.core.context import Context
from packager.core.fsutil import sha256_file
from packager.outputs.launchers import RESTORE_MODULE, RESTORE_PTH, restore_hook
from packager.python.runtime import PythonRuntime

# Part of every key: bump it when the layout or the way an entry is made changes.
_FORMAT = 7
LIBPYTHON = "libpython"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RuntimeOptions:
    """What a prepared runtime depends on besides the interpreter."""

    rules: tuple[stdlib.TrimRule, ...]
    strip: bool = True
    stdlib_sources: bool = False


@dataclass(frozen=True)
class PreparedRuntime:
    """A prepared runtime's directory and the SHA-256 of each file in it."""

    root: str
    digests: Mapping[str, str]  # by POSIX path relative to root, manifest excluded
    cached: bool  # False when built in a scratch directory

    @property
    def libpython(self) -> str | None:
        """The prepared libpython, when the runtime has one."""
        path = os.path.join(self.root, LIBPYTHON)
        return path if LIBPYTHON in self.digests else None


def runtime_key(runtime: PythonRuntime, options: RuntimeOptions) -> str:
    """The cache key: every input the prepared files depend on."""
    hook_source, hook_line = restore_hook()
    return cache.cache_key(
        {
            "format": _FORMAT,
            # A foreign root's runtime has its own files, but the machine is said outright:
            # an entry for one architecture must never serve a bundle for another.
            "machine": runtime.machine,
            "interpreter": cache.file_identity(runtime.interpreter.executable),
            "libpython": cache.file_identity(runtime.libpython) if runtime.libpython else None,
            "stdlib": runtime.stdlib_dir,
            "dynload": runtime.dynload_dir,
            "stdlib_files": stdlib.source_identity(runtime.stdlib_dir, runtime.dynload_dir),
            "site_packages": runtime.site_packages,
            "rules": [rule.name for rule in options.rules],
            "strip": options.strip,
            "sources": options.stdlib_sources,
            "hook": hashlib.sha256((hook_source + hook_line).encode()).hexdigest(),
        }
    )


def prepare_runtime(
    runtime: PythonRuntime,
    options: RuntimeOptions,
    ctx: Context,
    *,
    scratch: str,
) -> PreparedRuntime:
    """The prepared runtime from the cache, building and publishing it on a miss.

    `scratch` (a directory that must not exist yet) is used when the cache is unwritable.
    """
    root = ctx.cache_dir
    parent = os.path.join(root, "runtime") if root else None
    final = os.path.join(parent, runtime_key(runtime, options)) if parent else None
    if final is not None and os.path.exists(final):
        found, damage = _checked_entry(final)
        if found is not None:
            return found
        ctx.note(f"the cached prepared runtime {final} is damaged ({damage}): preparing it again")
        cache.discard(final)
    building = cache.new_entry_dir(parent) if parent else None
    target = building or scratch
    try:
        os.makedirs(target, exist_ok=True)
        digests = _build(target, runtime, options, ctx)
        if building is None or final is None:
            return PreparedRuntime(target, digests, cached=False)
        published = cache.publish(building, final)
    except BaseException:
        if building is not None:
            shutil.rmtree(building, ignore_errors=True)
        raise
    return _read_entry(published) or PreparedRuntime(published, digests, cached=True)


def _checked_entry(path: str) -> tuple[PreparedRuntime | None, str]:
    """The entry at `path` when every file is there with the SHA-256 its manifest records
    and nothing else is; else (None, what is wrong)."""
    entry = _read_entry(path)
    if entry is None:
        return None, f"no readable {MANIFEST}"
    present = {os.path.relpath(f, path).replace(os.sep, "/"): f for f in _files_under(path)}
    for name in sorted(set(present) ^ set(entry.digests)):
        return None, f"{name} is {'missing' if name in entry.digests else 'not in its manifest'}"
    for name, digest in sorted(entry.digests.items()):
        if sha256_file(present[name]) != digest:
            return None, f"{name} does not match its manifest"
    return entry, ""


def _read_entry(path: str) -> PreparedRuntime | None:
    try:
        with open(os.path.join(path, MANIFEST), encoding="utf-8") as handle:
            digests = json.load(handle)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return PreparedRuntime(path, {str(k): str(v) for k, v in digests.items()}, cached=True)


def _build(
    root: str,
    runtime: PythonRuntime,
    options: RuntimeOptions,
    ctx: Context,
) -> dict[str, str]:
    """Lay out an entry under `root` (see the module docstring); the files' digests."""
    version_dir = os.path.join(root, "lib", runtime.version_dir)
    python = runtime.interpreter.executable
    stripped: list[str] = []
    if runtime.libpython is not None:
        stdlib.copy_file(runtime.libpython, os.path.join(root, LIBPYTHON))
        os.chmod(os.path.join(root, LIBPYTHON), 0o755)
        stripped.append(os.path.join(root, LIBPYTHON))
    ctx.progress(f"preparing the standard library from {runtime.stdlib_dir} (once per interpreter)")
    stdlib.copy_stdlib(
        runtime.stdlib_dir,
        runtime.dynload_dir,
        version_dir,
        options.rules,
        ext_suffix=runtime.interpreter.ext_suffix,
    )
    prefix = f"lib/{runtime.version_dir}"
    if not options.stdlib_sources:
        # Without sources a traceback cannot show the line, so nothing uses the columns.
        stdlib.compile_tree(
            python, version_dir, ctx, source_prefix=prefix, legacy=True, column_ranges=False
        )
        stdlib.drop_compiled_sources(version_dir)
    site_packages = os.path.join(root, runtime.site_packages)
    os.makedirs(site_packages, exist_ok=True)
    module_source, pth_line = restore_hook()
    stdlib.write_text(os.path.join(site_packages, f"{RESTORE_MODULE}.py"), module_source)
    stdlib.write_text(os.path.join(site_packages, RESTORE_PTH), pth_line)
    compiled = os.path.join(root, "lib") if options.stdlib_sources else site_packages
    stdlib.compile_tree(python, compiled, ctx, source_prefix=os.path.relpath(compiled, root))
    dynload = elf_files_under(os.path.join(version_dir, "lib-dynload"))
    scrub_rpaths([*stripped, *dynload], ctx)
    # Where a tree puts the system libraries it ships (lib/), as vendoring would point them.
    add_library_entry(stripped, "$ORIGIN", ctx)  # libpython goes into lib/ itself
    add_library_entry(dynload, "$ORIGIN/../..", ctx)  # lib/python3.X/lib-dynload
    if options.strip:
        strip_files([*stripped, *dynload], ctx)
    digests = {
        os.path.relpath(path, root).replace(os.sep, "/"): sha256_file(path)
        for path in _files_under(root)
    }
    with open(os.path.join(root, MANIFEST), "w", encoding="utf-8") as handle:
        json.dump({"files": digests}, handle, indent=0, sort_keys=True)
    return digests


def _files_under(root: str) -> list[str]:
    return sorted(
        os.path.join(directory, name)
        for directory, _, names in os.walk(root)
        for name in names
        if not (directory == root and name == MANIFEST)
    )
