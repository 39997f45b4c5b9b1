"""`build_onefile`: one static executable carrying its interpreter's modules, no extraction.

The static program (built here from a crate, or given) is copied and stripped, its
payload slot is patched with the layout of the module archive, and the archive is
appended. The archive also carries the licence texts and the SBOM of what the program
holds (notices.py), and the SBOM is written beside it as PROGRAM.cdx.json. At run time
the start-up code `packager build` links into every program
(templates/runtime/packager_start.c) starts Python, whatever the crate calls to start it,
with the file itself as its only module search path, and zipimport reads modules
straight from it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packager.binary.model import BinaryReport
from packager.binary.onefile_payload import PayloadDescription
from packager.binary.sbom import SBOM_SUFFIX
from packager.bundle.onefile import archive
from packager.bundle.onefile.deflated import DeflatedStore
from packager.bundle.onefile.extensions import ExtensionPlan, Placement, plan_extensions
from packager.bundle.onefile.notices import CarriedNotices, NoticeInputs, carry_notices
from packager.bundle.onefile.program import (
    append_payload,
    check_slot,
    checked_static,
    require_readable,
    strip_program,
)
from packager.bundle.onefile.selection import (
    START_UP_MODULES,
    extension_suffixes,
    needed_modules,
    select_members,
)
from packager.bundle.options import ContentOptions, OnefileOptions
from packager.bundle.stdlib import TrimRule, trim_rules
from packager.bundle.tcltk import TKINTER, onefile_tcltk
from packager.core.atomic import Staging
from packager.core.context import Context, Progress
from packager.core.errors import OutputExistsError, UsageError
from packager.core.fsutil import sha256_file
from packager.core.resources import templates_dir
from packager.outputs.archives import source_mtime
from packager.python.interpreters import Interpreter
from packager.python.runtime import PythonRuntime, find_runtime
from packager.python.target_runtime import target_runtime
from packager.targets import host_arch
from packager.targets.machines import machine


@dataclass(frozen=True)
class OnefileResult:
    """What build_onefile wrote and what the program carries."""

    path: str
    source_binary: str
    python_version: str
    interpreter: str
    size: int
    executable_size: int  # the program proper, after stripping
    archive_size: int  # the appended module archive
    archive_members: int
    search_paths: tuple[str, ...]
    extensions: tuple[ExtensionPlan, ...]
    trimmed: tuple[str, ...]
    kept: tuple[str, ...]
    stripped: bool
    sha256: str
    notes: tuple[str, ...]
    sbom: str = ""  # PROGRAM.cdx.json, the SBOM it carries, beside it
    licence_components: int = 0  # the entries of the licenses/README it carries
    unlicensed: tuple[str, ...] = ()  # carried ELF members no licence text covers

    def placed(self, placement: Placement) -> tuple[ExtensionPlan, ...]:
        """The extension modules with `placement`."""
        return tuple(plan for plan in self.extensions if plan.placement is placement)


@dataclass(frozen=True)
class OnefileJob:
    """One onefile program to write: the static binary, where, and what it carries."""

    binary: str  # a static program built by `packager build` (it carries the start-up code)
    interpreter: str | None  # the interpreter it was built with, for its stdlib
    out: str  # the file to write
    crate_dir: str | None  # the crate it was built from (its app/main.py is a default script)
    content: ContentOptions
    onefile: OnefileOptions
    force: bool = False
    app_licence: str | None = None  # the app's licence expression (Cargo.toml)
    app_version: str = ""  # the app's version (Cargo.toml), for the SBOM
    package_dir: str | None = None  # the crate's package folder: license-file, Cargo.lock


@dataclass(frozen=True)
class _Contents:
    """What the archive carries and how it is compressed."""

    members: dict[str, str]  # archive name -> file, the boot module included
    plans: tuple[ExtensionPlan, ...]
    deflate: bool
    stored: frozenset[str]  # members left uncompressed when deflating
    notes: tuple[str, ...]
    notices: CarriedNotices  # its licence texts and SBOM, among the members


def build_onefile(job: OnefileJob, ctx: Context) -> OnefileResult:
    """Write the onefile program `job.out` from the static program `job.binary`.

    With `only_needed`, the archive keeps only what the scripts (default: the crate's
    app/main.py) and `include` import. `compress` deflates the archive: smaller, but each
    import inflates its module. Raises UsageError when an extension module of the
    third-party packages cannot work from inside the file, naming it and the reason.
    """
    out = os.path.abspath(job.out)
    for path in (out, out + SBOM_SUFFIX):
        if os.path.lexists(path) and not job.force:
            raise OutputExistsError("already exists", path=path, fix="remove it or pass --force")
    rules, kept = trim_rules(job.content.keep)
    out_dir = os.path.dirname(out)
    os.makedirs(out_dir, exist_ok=True)
    staging_dir = Staging(out_dir)
    staging = staging_dir.path
    with staging_dir:
        program, report = _working_copy(job, staging, ctx)
        runtime = _runtime(report, job, ctx)
        staged = _stage(job, runtime, rules, staging, ctx)
        contents = _contents(job, staged, runtime, report, staging, ctx)
        zipped = _archive_bytes(job, out, staged, runtime.interpreter, contents, ctx)
        executable_size = append_payload(program, zipped, shown=job.binary)
        require_readable(program, out)
        os.chmod(program, 0o755)
        os.replace(program, out)
        os.replace(contents.notices.sbom, out + SBOM_SUFFIX)
    interpreter, notices = runtime.interpreter, contents.notices
    return OnefileResult(
        path=out,
        source_binary=job.binary,
        python_version=interpreter.version,
        interpreter=runtime.stdlib_dir if report.arch != host_arch() else interpreter.path,
        size=os.path.getsize(out),
        executable_size=executable_size,
        archive_size=len(zipped),
        archive_members=len(contents.members),
        search_paths=staged.search_paths,
        extensions=contents.plans,
        trimmed=tuple(rule.name for rule in rules),
        kept=kept,
        stripped=job.content.strip,
        sha256=sha256_file(out),
        notes=(*contents.notes, *notices.notes),
        sbom=out + SBOM_SUFFIX,
        licence_components=notices.components,
        unlicensed=notices.unlicensed,
    )


def _working_copy(job: OnefileJob, staging: str, ctx: Context) -> tuple[str, BinaryReport]:
    """A checked copy of the binary in `staging` (stripped with --strip) and its report."""
    # Work on a private copy at once: another build may replace the file in target/.
    program = os.path.join(staging, "program")
    shutil.copyfile(job.binary, program)
    report = checked_static(program, shown=job.binary, environ=ctx.environ)
    check_slot(program, shown=job.binary)
    if job.content.strip:
        strip_program(program, ctx)
    return program, report


def _stage(
    job: OnefileJob,
    runtime: PythonRuntime,
    rules: tuple[TrimRule, ...],
    staging: str,
    ctx: Context,
) -> archive.StagedTree:
    """The stdlib, packages and app files collected and compiled under `staging`."""
    ctx.progress("collecting and compiling the standard library and packages")
    return archive.stage(
        os.path.join(staging, "tree"),
        python=runtime.interpreter.executable,
        version_dir=runtime.version_dir,
        stdlib_dir=runtime.stdlib_dir,
        dynload_dir=runtime.dynload_dir,
        rules=rules,
        site_dirs=job.onefile.site_dirs,
        requirements=job.content.requirements,
        app_dir=job.content.app_dir,
        ctx=ctx,
    )


def _contents(
    job: OnefileJob,
    staged: archive.StagedTree,
    runtime: PythonRuntime,
    report: BinaryReport,
    staging: str,
    ctx: Context,
) -> _Contents:
    """What the archive carries, with the boot module compiled, and the licence texts and
    SBOM written, under `staging`."""
    options = job.onefile
    interpreter = runtime.interpreter
    needed = None
    if options.only_needed:
        needed = _needed(job, staged, runtime, ctx.environ, ctx.progress)
        if options.compress:
            needed |= {"zlib"}  # what zipimport inflates the modules with
    sysroot = job.content.python_home if report.arch != host_arch() else None
    members, plans = _members(staged, runtime, report, needed=needed, sysroot=sysroot)
    tcltk: dict[str, str] = {}
    if TKINTER in trim_rules(job.content.keep)[1]:
        carried, tcltk = _tcltk(plans, runtime, staging, ctx)
        members.update(carried)
    deflate, stored = _compression(options.compress, interpreter, plans, members)
    notes: list[str] = []
    if options.compress and not deflate:
        notes.append("zlib is neither built into the interpreter nor carried: stored")
    template = (templates_dir() / "runtime" / f"{archive.BOOT_MODULE}.py").read_text("utf-8")
    boot = archive.compile_boot(
        interpreter.executable,
        archive.render_boot(template, plans, tcltk, library_cache=options.library_cache),
        staging,
        ctx,
    )
    members[f"{archive.BOOT_MODULE}.pyc"] = boot
    site_dir = os.path.join(staged.root, archive.SITE_DIR)
    inputs = NoticeInputs(
        name=os.path.basename(job.out),
        runtime=runtime,
        plans=plans,
        site_dir=site_dir if os.path.isdir(site_dir) else None,
        sysroot=sysroot or "/",
        app_licence=job.app_licence,
        app_version=job.app_version,
        package_dir=job.package_dir,
        deb_arch=machine(report.arch).deb or "",
        strict=job.content.strict_licenses,
    )
    notices = carry_notices(members, inputs, staging, ctx)
    members.update(notices.members)
    return _Contents(members, plans, deflate, stored, tuple(notes), notices)


def _tcltk(
    plans: Sequence[ExtensionPlan], runtime: PythonRuntime, staging: str, ctx: Context
) -> tuple[dict[str, str], dict[str, str]]:
    """Tcl/Tk's members and the boot module's table, for a kept tkinter: only a `_tkinter`
    with Tcl and Tk inside it (the portable runtime's) loads from inside the program."""
    plan = next((p for p in plans if p.name == "_tkinter"), None)
    inside = plan is not None and plan.placement is Placement.MEMORY
    if plan is None or not inside or plan.system_libraries or plan.system_files:
        how = "has no _tkinter" if plan is None else "loads Tcl/Tk from shared libraries"
        raise UsageError(
            f"--keep tkinter: a onefile program carries Tcl/Tk only inside _tkinter, and "
            f"this interpreter {how}",
            path=runtime.interpreter.executable,
            fix="build on the portable runtime, whose _tkinter carries Tcl/Tk (--python "
            "runtime:3.11), or bundle as a folder, archive or package (drop --onefile)",
        )
    ctx.progress("carrying Tcl's and Tk's script libraries and a font for tkinter")
    return onefile_tcltk(runtime.interpreter.executable, os.path.join(staging, "tcltk"), ctx)


def _archive_bytes(
    job: OnefileJob,
    out: str,
    staged: archive.StagedTree,
    interpreter: Interpreter,
    contents: _Contents,
    ctx: Context,
) -> bytes:
    """The module archive, the payload's description in its comment."""
    description = PayloadDescription(
        python_version=interpreter.version,
        entry=os.path.basename(job.binary),
        search_paths=staged.search_paths,
        extension_modules=len([p for p in contents.plans if p.placement is Placement.MEMORY]),
    )
    ctx.progress(f"writing {out}")
    return archive.write_archive(
        contents.members,
        comment=description.render(),
        mtime=source_mtime(ctx.environ),
        deflate=contents.deflate,
        stored=contents.stored,
        store=DeflatedStore(ctx.cache_dir),
    )


def _members(
    staged: archive.StagedTree,
    runtime: PythonRuntime,
    report: BinaryReport,
    *,
    needed: frozenset[str] | None,
    sysroot: str | None = None,
) -> tuple[dict[str, str], tuple[ExtensionPlan, ...]]:
    """(archive members, extension plans): everything staged, or only the `needed` modules.

    `sysroot` is the target's root a foreign program's modules find their libraries in."""
    suffixes = extension_suffixes(runtime.interpreter.ext_suffix)
    plans, _ = plan_extensions(
        staged.shared_objects,
        builtin_names=_builtin_names(runtime, report),
        suffixes=suffixes,
        tree=staged.root,
        sysroot=sysroot or "/",
    )
    members = dict(staged.modules)
    if needed is not None:
        members = select_members(members, needed, suffixes)
        plans = tuple(plan for plan in plans if plan.name in needed)
    loaded = [plan for plan in plans if plan.placement is Placement.MEMORY]
    for plan in loaded:
        carried = dict(plan.system_files)
        for member in (plan.member, *plan.libraries):
            members[member] = carried.get(member) or staged.shared_objects[member]
    _refuse_impossible(plans)
    return members, plans


def _compression(
    compress: bool,
    interpreter: Interpreter,
    plans: Sequence[ExtensionPlan],
    members: Mapping[str, str],
) -> tuple[bool, frozenset[str]]:
    """(deflate, members to store): zipimport inflates with zlib, built in or, when it is
    a module of lib-dynload (a portable runtime's), loaded from memory once the boot
    module runs; then what is read before that, and zlib itself, stay uncompressed."""
    if not compress or "zlib" in interpreter.builtin_module_names:
        return compress, frozenset()
    zlib = next((p for p in plans if p.name == "zlib" and p.placement is Placement.MEMORY), None)
    if zlib is None:
        return False, frozenset()
    early = {f"{archive.BOOT_MODULE}.pyc"}
    for module in START_UP_MODULES:
        path = module.replace(".", "/")
        early |= {f"{path}.pyc", f"{path}/__init__.pyc"} & set(members)
    return True, frozenset({*early, zlib.member, *zlib.libraries})


def _needed(
    job: OnefileJob,
    staged: archive.StagedTree,
    runtime: PythonRuntime,
    environ: Mapping[str, str],
    progress: Progress,
) -> frozenset[str]:
    progress("finding the modules the program imports")
    return needed_modules(
        runtime.interpreter.executable,
        path=_finder_path(staged),
        scripts=job.onefile.scripts or _default_scripts(job.crate_dir, job.binary),
        include=job.onefile.include,
        environ=environ,
    )


def _default_scripts(crate_dir: str | None, binary: str) -> list[str]:
    if crate_dir is not None and os.path.isfile(os.path.join(crate_dir, "app", "main.py")):
        return [os.path.join(crate_dir, "app", "main.py")]
    raise UsageError(
        "keeping only the needed modules needs the program's Python scripts to analyse",
        path=crate_dir or binary,
        fix="pass the scripts (e.g. --script app/main.py), or keep every module",
    )


def _finder_path(staged: archive.StagedTree) -> list[str]:
    stdlib_root = os.path.join(staged.root, "stdlib")
    paths = [stdlib_root, os.path.join(stdlib_root, archive.DYNLOAD_DIR)]
    paths += [os.path.join(staged.root, p) for p in staged.search_paths if p != "."]
    return paths


def _builtin_names(runtime: PythonRuntime, report: BinaryReport) -> set[str]:
    """Modules built into this static program: in the inittab and linked in."""
    defined = {name.removeprefix("PyInit_") for name in report.symbols.pyinit}
    return {name for name in runtime.interpreter.builtin_module_names if name in defined}


def check_site_dirs(site_dirs: Sequence[str]) -> None:
    """Refuse, before anything is built, compiled modules of --site directories that
    cannot load from inside a onefile program (a library neither carried nor installed)."""
    for site_dir in site_dirs:
        files: dict[str, str] = {}
        suffixes: set[str] = set()
        for current, subdirs, names in os.walk(site_dir):
            subdirs.sort()
            for name in names:
                found = _MODULE_SUFFIX.search(name)
                if found is None and not (name.endswith(".so") or ".so." in name):
                    continue
                if found is not None:
                    suffixes.add(found.group(0))
                relative = os.path.relpath(os.path.join(current, name), site_dir)
                files[f"{archive.SITE_DIR}/{relative}"] = os.path.join(current, name)
        plans, _ = plan_extensions(
            files, builtin_names=(), suffixes=sorted(suffixes) or [".so"], tree=site_dir
        )
        _refuse_impossible(plans)


# The tag of a compiled module's file name: .cpython-311-x86_64-linux-gnu.so, .abi3.so.
_MODULE_SUFFIX = re.compile(r"\.(?:cpython-[^.]+|abi3)\.so$")


def _refuse_impossible(plans: Sequence[ExtensionPlan]) -> None:
    """Third-party modules that cannot load stop the build; stdlib ones are left out."""
    blocking = [
        plan
        for plan in plans
        if plan.placement is Placement.IMPOSSIBLE
        and not plan.member.startswith(archive.DYNLOAD_DIR + "/")
    ]
    if blocking:
        detail = "; ".join(f"{plan.name}: {plan.reason}" for plan in blocking)
        raise UsageError(
            f"these compiled modules cannot be loaded from inside a onefile program: {detail}",
            fix="ship a directory bundle instead (`packager bundle --format dir`), or leave "
            "the package out",
        )


def _runtime(report: BinaryReport, job: OnefileJob, ctx: Context) -> PythonRuntime:
    """The stdlib's runtime: the interpreter the program was built with, or for a program
    of another architecture, the target's root (--python-home)."""
    if report.arch != host_arch():
        ctx.progress(f"taking the {report.arch} standard library from the target's Python")
        return target_runtime(
            report,
            job.content.python_home,
            environ=ctx.environ,
            explicit=job.interpreter,
            cache_dir=ctx.cache_dir,
        )
    ctx.progress("finding the standard library of the interpreter the binary was built with")
    return find_runtime(
        report, environ=ctx.environ, explicit=job.interpreter, cache_dir=ctx.cache_dir
    )
