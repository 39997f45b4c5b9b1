"""A Python runtime prepared for shipping, once per interpreter, kept in the cache.

Preparing is the slow part of a bundle: copying and trimming the stdlib, precompiling it,
stripping libpython and lib-dynload. None of it depends on the binary
being bundled, so the result is cached under the cache's `runtime/` directory, keyed by
the machine, the interpreter and libpython files, every stdlib file (path, size, mtime),
the trim rules and the options; later bundles lay it out (hard links where they can,
see layouts/elf_tree.py). An entry holds:

    libpython                         the shared libpython (dynamic embeds), stripped
                                      (files needing a library a tree ships from the
                                      system have a run path to the tree's lib/ already)
    lib/python3.X/...                 the compiled pure-Python stdlib as mod.pyc files (the
                                      sources and __pycache__ instead, with sources)
    lib/python3.X/lib-dynload/        stdlib extension modules, stripped
    <site-packages>/                  the hook that restores the launcher's variables
    manifest.json                     the SHA-256 of each file above, written last, and
                                      each file's device, inode, size and mtime

Every use checks each file against the manifest (by hashing it unless it still has the
device, inode, size and mtime recorded: see core.cache.checked_tree, which says what that
does not catch); a damaged entry is noted, removed and prepared again.

Without a writable cache the same entry is built in a scratch directory and discarded.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from packager.binary.elf_head import elf_files_under
from packager.bundle import stdlib
from packager.bundle.rpaths import add_library_entry, scrub_rpaths
from packager.bundle.strip import strip_files
from packager.core import cache
from packager.core.context import Context
from packager.outputs.launchers import RESTORE_MODULE, RESTORE_PTH, restore_hook
from packager.python.runtime import PythonRuntime

# Part of every key: bump it when the layout or the way an entry is made changes.
_FORMAT = 8  # 8: manifests record marks (core.cache.checked_tree)
LIBPYTHON = "libpython"


@dataclass(frozen=True)
class RuntimeOptions:
    """What a prepared runtime depends on besides the interpreter."""

    rules: tuple[stdlib.TrimRule, ...]
    strip: bool = True
    stdlib_sources: bool = False


@dataclass(frozen=True)
class PreparedRuntime(cache.TreeEntry):
    """A prepared runtime's directory and the SHA-256 of each file in it."""

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
    entry = cache.tree_entry(
        os.path.join(ctx.cache_dir, "runtime") if ctx.cache_dir else None,
        runtime_key(runtime, options),
        lambda target: _build(target, runtime, options, ctx),
        scratch=scratch,
        note=ctx.note,
        what="prepared runtime",
    )
    return PreparedRuntime(entry.root, entry.digests, entry.cached)


def _build(
    root: str,
    runtime: PythonRuntime,
    options: RuntimeOptions,
    ctx: Context,
) -> None:
    """Lay out an entry under `root` (see the module docstring)."""
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
