"""Stage, precompile and zip the modules a onefile program carries.

Archive layout (the zip appended to the program; its root is the first sys.path entry):

    encodings/__init__.pyc ...     the trimmed standard library, .pyc only
    lib-dynload/_json....so        stdlib extension modules not built into the interpreter
    site-packages/...              third-party packages (a second sys.path entry)
    app/...                        the application's own modules (a third one)
    _packager_boot.pyc             the memory loader for the compiled modules
    licenses/..., sbom.cdx.json    the licence texts and the SBOM (notices.py)
    packager-hashes                a hash of each member's bytes (written last)

Reproducible: entries sorted, one timestamp (SOURCE_DATE_EPOCH or a constant), .pyc with
unchecked-hash invalidation (no source mtimes inside), fixed permissions.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from packager.binary.onefile_payload import (
    EARLY,
    TABLE_MEMBER,
    MemberHash,
    member_digest,
    pack_table,
)
from packager.bundle import stdlib
from packager.bundle.onefile.deflated import DeflatedStore
from packager.bundle.onefile.extensions import ExtensionPlan, Placement
from packager.bundle.onefile.stdlib_entry import stage_stdlib
from packager.bundle.onefile.zip_writer import ZipWriter
from packager.bundle.site_packages import pip_install, runtime_target
from packager.core import cache
from packager.core.context import Context
from packager.core.errors import ToolError, UsageError
from packager.outputs.archives import zip_time

BOOT_MODULE = "_packager_boot"
STDLIB_DIR = ""  # the archive root
SITE_DIR = "site-packages"
APP_DIR = "app"
DYNLOAD_DIR = "lib-dynload"

_SHARED_OBJECT_SUFFIXES = (".so",)
# What Python reads before the boot module is there to check it (the file-system encoding
# is UTF-8 in the isolated start-up), and the boot module: the start-up code checks these
# before Python starts.
EARLY_MEMBERS = frozenset(
    {
        f"{BOOT_MODULE}.pyc",
        "encodings/__init__.pyc",
        "encodings/aliases.pyc",
        "encodings/utf_8.pyc",
    }
)
# The end record counts entries in 16 bits, and the hash table is one of them.
_MAX_MEMBERS = 0xFFFF - 1


@dataclass(frozen=True)
class StagedTree:
    """The staging directory and what it holds, as archive members -> files."""

    root: str
    modules: dict[str, str]  # pure-Python modules and data files
    shared_objects: dict[str, str]  # every .so, planned separately
    search_paths: tuple[str, ...]  # archive directories that go on sys.path


def stage(
    root: str,
    *,
    python: str,
    version_dir: str,
    stdlib_dir: str,
    dynload_dir: str,
    rules: Iterable[stdlib.TrimRule],
    site_dirs: Sequence[str],
    requirements: str | None,
    app_dir: str | None,
    ctx: Context,
) -> StagedTree:
    """Copy the stdlib, the third-party packages and the app under `root`, and compile them."""
    stdlib_root = os.path.join(root, "stdlib")
    stage_stdlib(
        stdlib_root,
        python=python,
        version_dir=version_dir,
        stdlib_dir=stdlib_dir,
        dynload_dir=dynload_dir,
        rules=rules,
        ctx=ctx,
    )
    search_paths = ["."]
    site_root = os.path.join(root, SITE_DIR)
    if site_dirs or requirements:
        os.makedirs(site_root)
        for site_dir in site_dirs:
            _copy_tree(site_dir, site_root, "--site")
        if requirements:
            # The bundle's own pip step: same interpreter, same flags, same errors.
            target = runtime_target(python, platform.machine())
            pip_install(python, requirements, site_root, ctx, target)
        stdlib.compile_tree(python, site_root, ctx, source_prefix=SITE_DIR, legacy=True)
        search_paths.append(SITE_DIR)
    app_root = os.path.join(root, APP_DIR)
    if app_dir:
        os.makedirs(app_root)
        _copy_tree(app_dir, app_root, "--app-dir")
        stdlib.compile_tree(python, app_root, ctx, source_prefix=APP_DIR, legacy=True)
        search_paths.append(APP_DIR)
    modules: dict[str, str] = {}
    shared: dict[str, str] = {}
    for prefix, directory in (("", stdlib_root), (SITE_DIR, site_root), (APP_DIR, app_root)):
        if os.path.isdir(directory):
            _collect(directory, prefix, modules, shared)
    return StagedTree(root, modules, shared, tuple(search_paths))


def _collect(directory: str, prefix: str, modules: dict[str, str], shared: dict[str, str]) -> None:
    files: dict[str, str] = {}
    for current, subdirs, names in os.walk(directory):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        relative = os.path.relpath(current, directory)
        for name in names:
            member = os.path.normpath(os.path.join(prefix, relative, name)).replace(os.sep, "/")
            files[member] = os.path.join(current, name)
    for member, path in files.items():
        if member.endswith(".py") and member + "c" in files:
            continue  # the .pyc is what zipimport loads; the source only costs space
        if _is_shared_object(member):
            shared[member] = path
        else:
            modules[member] = path


def _is_shared_object(member: str) -> bool:
    base = member.rsplit("/", 1)[-1]
    return base.endswith(_SHARED_OBJECT_SUFFIXES) or ".so." in base


def render_boot(
    template: str,
    plans: Iterable[ExtensionPlan],
    tcltk: Mapping[str, str] | None = None,
    *,
    library_cache: bool = True,
) -> str:
    """The boot module's source with its EXTENSIONS, LIBRARIES and TCLTK tables filled in,
    and LIBRARY_CACHE off when compiled modules must load from memory only."""
    loaded = sorted((p for p in plans if p.placement is Placement.MEMORY), key=lambda p: p.name)
    extensions = {plan.name: plan.member for plan in loaded}
    libraries = {plan.name: plan.libraries for plan in loaded if plan.libraries}
    source = _fill(_fill(template, "EXTENSIONS", extensions), "LIBRARIES", libraries)
    source = _fill(source, "TCLTK", tcltk or {})
    if library_cache:
        return source
    switch = "\nLIBRARY_CACHE = True\n"
    if source.count(switch) != 1:
        raise UsageError("the boot module template has no `LIBRARY_CACHE = True` line")
    return source.replace(switch, "\nLIBRARY_CACHE = False\n")


def _fill(template: str, table: str, values: Mapping[str, object]) -> str:
    placeholder = f"\n{table} = {{}}\n"
    if template.count(placeholder) != 1:
        raise UsageError(f"the boot module template has no `{table} = {{}}` line")
    lines = "".join(f"    {name!r}: {value!r},\n" for name, value in values.items())
    text = f"{table} = {{\n{lines}}}" if values else f"{table} = {{}}"
    return template.replace(placeholder, f"\n{text}\n")


def compile_boot(python: str, source: str, staging: str, ctx: Context) -> str:
    """The boot module `source`, precompiled by `python`, under `staging`; the path of
    its .pyc. Kept in the cache's `onefile-boot/` by interpreter and source: a rebuild
    with the same modules starts no compiler."""

    def build(root: str) -> None:
        path = os.path.join(root, f"{BOOT_MODULE}.py")
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(source)
        stdlib.compile_tree(python, root, ctx, source_prefix="", legacy=True)
        if not os.path.isfile(path + "c"):
            raise ToolError(f"{python} did not compile the boot module", path=path)

    key = cache.cache_key(
        {"format": 1, "interpreter": cache.file_identity(python), "source": source}
    )
    boot_dir = os.path.join(staging, "boot")
    folder = os.path.join(ctx.cache_dir, "onefile-boot") if ctx.cache_dir else None
    cache.lay_out_entry(folder, key, build, boot_dir, note=ctx.note, what="compiled boot module")
    return os.path.join(boot_dir, f"{BOOT_MODULE}.pyc")


def write_archive(
    members: Mapping[str, str],
    *,
    comment: bytes,
    mtime: int,
    deflate: bool,
    stored: frozenset[str] = frozenset(),
    store: DeflatedStore | None = None,
) -> bytes:
    """The zip of `members` (archive name -> file), sorted, with one timestamp; with
    `deflate`, each member but those in `stored` is compressed (through `store`, which
    keeps what it deflated for the next build).

    The hash table comes last, before the central directory: a hash of each member's
    bytes as written (local header and stored data), which the program checks.
    """
    if len(members) > _MAX_MEMBERS:
        raise UsageError(
            f"a onefile program holds at most {_MAX_MEMBERS} files, and this one would hold "
            f"{len(members)}",
            fix="keep only the modules the program imports (--only-needed), or ship a "
            "directory bundle",
        )
    contents = {name: _read(members[name]) for name in sorted(members)}
    compressed = (store or DeflatedStore(None)).deflate_all(
        {name: data for name, data in contents.items() if deflate and name not in stored}
    )
    writer = ZipWriter(zip_time(mtime))
    hashes = []
    for name, data in contents.items():
        offset, record = writer.add(name, data, compressed.get(name))
        flags = EARLY if name in EARLY_MEMBERS else 0
        hashes.append(MemberHash(offset, len(record), flags, member_digest(record)))
    writer.add(TABLE_MEMBER, pack_table(hashes))
    return writer.finish(comment)


def _read(path: str) -> bytes:
    with open(path, "rb") as source:
        return source.read()


def _copy_tree(source: str, target: str, option: str) -> None:
    if not os.path.isdir(source):
        raise UsageError(f"{option} is not a directory", path=source)
    # Symlinks are followed: the archive must not point outside itself.
    shutil.copytree(
        source,
        target,
        symlinks=False,
        dirs_exist_ok=True,
        copy_function=stdlib.copy_file,
        ignore=shutil.ignore_patterns("__pycache__", "bin"),
    )
