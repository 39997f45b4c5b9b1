"""The Linux layout: a relocatable tree with libpython, a trimmed stdlib and a launcher.

The runtime (libpython and the stdlib) comes from the interpreter a build just used, else
`--python`, else the interpreter matching what the binary links; it is prepared once per
interpreter and options in the cache, then copied into the tree (see elf_tree.py). A
program for another architecture takes it from the target's root (`--python-home`), and
the system libraries it ships come from there too (packager.python.target_runtime).
"""

from __future__ import annotations

import os

from packager.binary.onefile_markers import has_slot
from packager.bundle.app_imports import app_imports, keep_for_app, trimmed_imports_warnings
from packager.bundle.layouts import LaidOut, TreeJob
from packager.bundle.layouts.elf_tree import Tree, TreeSpec, build_tree
from packager.bundle.licences import INDEX
from packager.bundle.needed import NeededSpec
from packager.bundle.prepared import PreparedRuntime, RuntimeOptions, prepare_runtime
from packager.bundle.stdlib import TrimRule, trim_rules
from packager.bundle.tcltk import TKINTER, has_tkinter, require_tkinter
from packager.core.context import Context
from packager.outputs import StagedTree
from packager.outputs.model import BundleManifest
from packager.python.runtime import PythonRuntime, find_runtime
from packager.python.target_runtime import target_runtime
from packager.targets import host_arch


def lay_out(job: TreeJob, ctx: Context) -> LaidOut:
    """Lay the program of `job` out with its runtime in the staging directory."""
    content = job.request.content
    runtime = _runtime(job, ctx)
    keep, notes = _keep(job, runtime)
    rules, kept = trim_rules(keep)
    if TKINTER in kept:
        require_tkinter(runtime.dynload_dir, runtime.stdlib_dir)
    prepared = prepare_runtime(
        runtime,
        RuntimeOptions(rules, strip=content.strip, stdlib_sources=content.stdlib_sources),
        ctx,
        scratch=job.staging.entry(".runtime"),
    )
    root = job.staging.entry(job.name)
    tree = build_tree(root, _tree_spec(job, runtime, prepared), ctx)
    notes += trimmed_imports_warnings(os.path.join(root, runtime.site_packages), rules)
    notes += tree.licence_notes
    if tree.left_out is not None:
        notes.append(tree.left_out.note())
    if not has_slot(job.binary):
        notes.append(
            "bin/ binary was not built by `packager build` (it lacks packager's start-up "
            "code), so it needs PYTHONHOME to find the bundle's stdlib: run it through the "
            "launcher"
        )
    manifest = _manifest(job, runtime, tree, rules, kept, notes)
    staged = StagedTree(
        root=root,
        name=job.name,
        launcher=tree.launcher,
        arch=job.report.arch,
        python_version=runtime.interpreter.version,
        version=job.meta.version,
        meta=job.meta,
        shipped=tree.shipped,
    )
    return LaidOut(staged, manifest)


def _keep(job: TreeJob, runtime: PythonRuntime) -> tuple[tuple[str, ...], list[str]]:
    """--keep, and the trimmed parts the app's own Python imports (notes say where). Tk
    found this way but missing from the interpreter is a note, not a refusal."""
    given = job.request.content.keep
    imports = app_imports(job.request.content.app_dir, job.package_dir)
    keep, notes = keep_for_app(given, imports)
    if TKINTER in keep and TKINTER not in given and not has_tkinter(runtime.dynload_dir):
        keep = tuple(name for name in keep if name != TKINTER)
        notes = [note for note in notes if not note.startswith(f"{TKINTER} kept")]
        notes.append(
            "the app imports tkinter, but this interpreter has no _tkinter module: its Tk "
            "code cannot run from the bundle (bundle with a Python that has Tk)"
        )
    return keep, notes


def _tree_spec(job: TreeJob, runtime: PythonRuntime, prepared: PreparedRuntime) -> TreeSpec:
    """What build_tree makes the tree of `job` from."""
    request, content = job.request, job.request.content
    return TreeSpec(
        job.name,
        job.binary,
        job.report,
        runtime,
        prepared,
        content.app_dir,
        content.requirements,
        request.export_env,
        content.strip,
        request.workdir,
        content.unstripped,
        request.glibc,
        sysroot=foreign_root(job) or "/",
        app_licence=job.meta.license,
        package_dir=job.package_dir,
        strict_licences=content.strict_licenses,
        app_version=job.meta.version,
        needed=_needed_spec(job),
    )


def _needed_spec(job: TreeJob) -> NeededSpec | None:
    """What --only-needed follows, when it was given."""
    options = job.request.onefile_options
    if not options.only_needed:
        return None
    return NeededSpec(options.scripts, options.include, job.package_dir)


def _manifest(
    job: TreeJob,
    runtime: PythonRuntime,
    tree: Tree,
    rules: tuple[TrimRule, ...],
    kept: tuple[str, ...],
    notes: list[str],
) -> BundleManifest:
    """The manifest of the bundle laid out as `tree`."""
    request, content = job.request, job.request.content
    return BundleManifest(
        name=job.name,
        source_binary=job.binary,
        binary_format=job.report.format,
        link_mode=job.report.link_mode,
        python_version=runtime.interpreter.version,
        # A foreign runtime is compiled by a host interpreter but comes from the root.
        interpreter=runtime.stdlib_dir if foreign_root(job) else runtime.interpreter.path,
        launcher=tree.launcher,
        binary=tree.binary,
        rpath_patched=tree.rpath_patched,
        export_env=request.export_env,
        zip_stdlib=False,  # .pyc files in lib/python3.X: see stdlib.drop_compiled_sources
        stripped=content.strip,
        trimmed=tuple(rule.name for rule in rules),
        kept=kept,
        requirements=tree.installed,
        deb_depends=(),
        sizes=tree.sizes,
        outputs=(),
        notes=tuple(notes),
        vendored=tree.vendored,
        licenses=INDEX,
        unlicensed=tree.unlicensed,
    )


def foreign_root(job: TreeJob) -> str | None:
    """The target's root a program for another architecture takes its runtime from
    ("" when none was given: target_runtime refuses that); None for this machine's."""
    if job.report.arch == host_arch():
        return None
    return job.request.content.python_home or ""


def _runtime(job: TreeJob, ctx: Context) -> PythonRuntime:
    explicit = job.request.obtain.python
    if foreign_root(job) is not None:
        ctx.progress(f"taking the {job.report.arch} runtime from the target's Python")
        return target_runtime(
            job.report,
            job.request.content.python_home,
            environ=ctx.environ,
            explicit=explicit,
            cache_dir=ctx.cache_dir,
        )
    ctx.progress("finding the Python installation the binary was built against")
    return find_runtime(
        job.report, environ=ctx.environ, explicit=job.interpreter or explicit,
        cache_dir=ctx.cache_dir,
    )  # fmt: skip
