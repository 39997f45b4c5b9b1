"""Build a portable CPython runtime into the cache, or find the one already built.

The entry's name is a digest of everything its bytes depend on (the sources' SHA-256s,
the request, zig's version, the recipe's version, SOURCE_DATE_EPOCH), and CPython is
configured with that entry's final path as its prefix, so sysconfig tells the truth.
One build per key runs at a time (a lock file); it works in `work/KEY/`, installs into a
staging directory and publishes the prefix by one rename, so an interrupted build leaves
no entry behind. The libraries are built once into `deps/KEY/` (their install prefix, so
it cannot be renamed into place: a marker file written last says it is complete) and
shared by runtimes of other CPython releases. Every step's output is kept in
`logs/ENTRY/`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from packager.core import runner
from packager.core.cache import cache_key, new_entry_dir, publish
from packager.core.context import Context
from packager.core.errors import RuntimeBuildError, UsageError
from packager.python.debian_root import C_LIBRARY_SUITE, c_library_root
from packager.python.portable import cpython, debian
from packager.python.portable.finish import check_modules, normalise_tree, write_manifest
from packager.python.portable.recipes import RECIPES, Step
from packager.python.portable.sources import (
    SourceArchive,
    SourceSet,
    find_dependencies,
    python_in,
    python_source,
)
from packager.python.portable.spec import RuntimeSpec
from packager.python.portable.store import Runtime, entry_name, read_runtime, runtimes_root
from packager.python.portable.tk_recipes import GUI_RECIPES
from packager.python.portable.toolchain import Zig, build_environment, find_zig, write_wrappers
from packager.targets import host_arch, linux_target_for

# Bump when a recipe changes what it produces: every runtime is then rebuilt.
RECIPE_VERSION = 3
# 1980-01-01, the earliest time a zip archive can hold, when SOURCE_DATE_EPOCH is unset.
DEFAULT_EPOCH = 315532800
LOG_TAIL_LINES = 25
# Written last into a libraries prefix: without it, the prefix is from a build cut short.
DEPS_COMPLETE = ".complete"


@dataclass(frozen=True)
class BuildOptions:
    """What `packager runtime build` was asked for."""

    spec: RuntimeSpec
    source: str | None = None  # CPython tarball or tree; None: Debian's
    deps_source: str | None = None  # directory of the dependencies' tarballs; None: Debian's
    jobs: int = 2


@dataclass(frozen=True)
class BuildResult:
    """The runtime, whether it came from the cache, and how long getting it took."""

    runtime: Runtime
    cached: bool
    seconds: float


@dataclass(frozen=True)
class _Plan:
    """Everything one build needs, fixed before it starts."""

    options: BuildOptions
    sources: SourceSet
    zig: Zig
    epoch: int
    key: str
    deps_key: str  # the libraries' own key: runtimes of other CPython releases share them
    final: str  # the entry's path, and CPython's --prefix
    root: str
    emulator: tuple[str, ...] = ()  # what runs a program of the runtime's architecture
    build_python: str | None = None  # this machine's CPython of the same X.Y, when cross

    @property
    def work(self) -> str:
        return os.path.join(self.root, "work", self.key)

    @property
    def logs(self) -> str:
        return os.path.join(self.root, "logs", os.path.basename(self.final))


def build_runtime(options: BuildOptions, ctx: Context) -> BuildResult:
    """The runtime `options` describe: from the cache, else built and published there."""
    started = time.monotonic()
    root = runtimes_root(ctx.cache_dir)
    if root is None:
        raise UsageError(
            "no cache directory to build the runtime in",
            fix="set HOME or XDG_CACHE_HOME to an absolute path",
        )
    sources = gather_sources(options, ctx, root)
    zig = find_zig(ctx.environ)
    epoch = int(ctx.environ.get("SOURCE_DATE_EPOCH", "") or DEFAULT_EPOCH)
    facts = _facts(options.spec, sources, zig, epoch)
    key = cache_key(facts)
    deps_key = cache_key({**facts, "sources": {**facts["sources"], "python": None}})
    name = entry_name(sources.python.version, options.spec.arch, options.spec.glibc_text, key)
    final = os.path.join(root, name)
    plan = _Plan(options, sources, zig, epoch, key, deps_key, final, root)
    built = False
    runtime = read_runtime(plan.final)
    if runtime is None and options.spec.cross:
        # qemu is asked for before the native runtime's minutes are spent.
        emulator = _emulator(options.spec, ctx)
        plan = replace(plan, emulator=emulator, build_python=_native_python(options, ctx))
    if runtime is None:
        with _locked(os.path.join(root, "work", f"{key}.lock"), ctx):
            runtime = read_runtime(plan.final)  # another run may have finished it meanwhile
            if runtime is None:
                _build(plan, ctx)
                built = True
                runtime = read_runtime(plan.final)
    if runtime is None:
        raise RuntimeBuildError("the published runtime has no manifest", path=plan.final)
    return BuildResult(runtime, cached=not built, seconds=time.monotonic() - started)


def _native_python(options: BuildOptions, ctx: Context) -> str:
    """This machine's runtime of the same CPython, built first when missing: a cross
    build of CPython runs it to generate files and compile the standard library."""
    spec = options.spec
    ctx.progress(f"a runtime for {spec.arch} is built with CPython {spec.short_version} "
                 f"for {host_arch()}; getting that first…")  # fmt: skip
    native = replace(options, spec=replace(spec, arch=host_arch()))
    return build_runtime(native, ctx).runtime.executable


def _emulator(spec: RuntimeSpec, ctx: Context) -> tuple[str, ...]:
    """The command that runs a program of `spec`'s architecture here: qemu with Debian's
    C library for it, fetched once."""
    target = linux_target_for(spec.arch)
    if target is None:
        raise UsageError(f"no recipe to run {spec.arch} programs on this {host_arch()} machine")
    qemu = runner.require(
        f"qemu-{spec.arch}-static",
        ctx.environ,
        fix="install qemu-user-static (Debian: apt-get install qemu-user-static): the new "
        "runtime is run once to check its modules",
    )
    return (qemu, "-L", c_library_root(target, C_LIBRARY_SUITE, ctx))


def gather_sources(options: BuildOptions, ctx: Context, root: str) -> SourceSet:
    """CPython's and the libraries' sources, as given or fetched from Debian."""
    if options.source is not None:
        python = python_source(options.source, options.spec)
    else:
        fetched = debian.fetch_python(options.spec, ctx, root)
        found = python_in(fetched, options.spec)
        if found is None:
            raise UsageError(
                f"Debian's sources hold no CPython {options.spec.short_version} tarball",
                path=fetched,
                fix="give --source Python-3.X.Y.tgz",
            )
        python = found
    if options.deps_source is not None:
        return SourceSet(python, find_dependencies(options.deps_source))
    libraries = (debian.fetch_libraries(ctx, root), debian.fetch_gui(ctx, root))
    return SourceSet(python, find_dependencies(*libraries))


def _facts(spec: RuntimeSpec, sources: SourceSet, zig: Zig, epoch: int) -> dict[str, Any]:
    archives = (sources.python, *sources.dependencies)
    return {
        "recipe": RECIPE_VERSION,
        "glibc": spec.glibc_text,
        "arch": spec.arch,
        "zig": zig.version,
        "epoch": epoch,
        "sources": {archive.component: archive.sha256 for archive in archives},
    }


@contextmanager
def _locked(path: str, ctx: Context) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the block."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            ctx.progress("waiting for another build of the same runtime to finish…")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(plan: _Plan, ctx: Context) -> None:
    """Build (or reuse) the libraries, then CPython; install, check and publish the prefix."""
    shutil.rmtree(plan.work, ignore_errors=True)  # left by a build that was killed
    shutil.rmtree(plan.logs, ignore_errors=True)
    os.makedirs(plan.logs)
    deps = os.path.join(plan.root, "deps", plan.deps_key)
    bin_dir = os.path.join(plan.work, "bin")
    try:
        write_wrappers(plan.zig, plan.options.spec, bin_dir, plan.work, deps)
        env = build_environment(
            ctx.environ, bin_dir=bin_dir, work=plan.work, deps=deps, epoch=plan.epoch
        )
        with _locked(deps + ".lock", ctx):
            complete = os.path.join(deps, DEPS_COMPLETE)
            if not os.path.isfile(complete):
                shutil.rmtree(deps, ignore_errors=True)  # a build of them that was killed
                try:
                    _build_dependencies(plan, deps, env, ctx)
                except BaseException:
                    shutil.rmtree(deps, ignore_errors=True)
                    raise
                with open(complete, "w", encoding="utf-8"):
                    pass
        total = len(plan.sources.dependencies) + 1
        python = plan.sources.python
        ctx.progress(f"building CPython {python.version} ({total}/{total})…")
        _build_python(plan, deps, env, ctx)
        _publish(plan, env, ctx)
    finally:
        shutil.rmtree(plan.work, ignore_errors=True)


def _build_dependencies(plan: _Plan, deps: str, env: dict[str, str], ctx: Context) -> None:
    """Build every library into `deps`, in order (each may need the ones before it)."""
    total = len(plan.sources.dependencies) + 1
    for index, archive in enumerate(plan.sources.dependencies, start=1):
        ctx.progress(f"building {archive.component} {archive.version} ({index}/{total})…")
        source = _unpack(archive, plan, env, ctx)
        recipe = RECIPES.get(archive.component) or GUI_RECIPES[archive.component]
        steps = recipe(deps, plan.options.jobs, plan.options.spec)
        _run_steps(steps, archive, source, env, plan, ctx)


def _build_python(plan: _Plan, deps: str, env: dict[str, str], ctx: Context) -> None:
    python = plan.sources.python
    source = _unpack(python, plan, env, ctx)
    setup_local = cpython.setup_local(plan.options.spec)
    if setup_local is not None:
        with open(os.path.join(source, "Modules", "Setup.local"), "w", encoding="utf-8") as f:
            f.write(setup_local)
    steps = cpython.steps(plan.final, deps, plan.options.jobs, plan.options.spec, plan.build_python)
    _run_steps(steps, python, source, env, plan, ctx)
    ctx.progress(f"installing CPython {python.version} and compiling its standard library…")
    destdir = os.path.join(plan.work, "dest")
    install = [
        cpython.install_step(destdir),
        cpython.script_libraries_step(deps, destdir, plan.final),
    ]
    _run_steps(install, python, source, env, plan, ctx)


def _publish(plan: _Plan, env: dict[str, str], ctx: Context) -> None:
    """Move the installed prefix into a staging entry, check it, and rename it into place."""
    installed = os.path.join(plan.work, "dest") + plan.final
    building = new_entry_dir(plan.root)
    if building is None:
        raise UsageError("cannot write the runtime cache", path=plan.root)
    try:
        for name in os.listdir(installed):
            os.rename(os.path.join(installed, name), os.path.join(building, name))
        ctx.progress("checking the runtime's modules…")
        check_modules(building, plan.sources.python.version, env, plan.logs, plan.emulator)
        write_manifest(
            building, plan.options.spec, plan.sources, plan.zig.version, plan.key, RECIPE_VERSION
        )
        normalise_tree(building, plan.epoch)
        publish(building, plan.final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _unpack(archive: SourceArchive, plan: _Plan, env: dict[str, str], ctx: Context) -> str:
    """Unpack (or copy, for a tree) `archive` under work/src/; its top directory."""
    parent = os.path.join(plan.work, "src", archive.component)
    os.makedirs(parent)
    if archive.is_tree:
        target = os.path.join(parent, os.path.basename(archive.path.rstrip("/")))
        shutil.copytree(archive.path, target, symlinks=True)
        return target
    if archive.path.endswith(".deb"):
        target = os.path.join(parent, "data")
        dpkg_deb = runner.require(
            "dpkg-deb", env, fix="install dpkg (Debian: apt-get install dpkg)"
        )
        runner.run([dpkg_deb, "-x", archive.path, target], environ=env, echo=ctx.echo)
        return target
    runner.run(["tar", "-xf", archive.path, "-C", parent], environ=env, echo=ctx.echo)
    entries = os.listdir(parent)
    if len(entries) != 1 or not os.path.isdir(os.path.join(parent, entries[0])):
        raise RuntimeBuildError(
            "the tarball does not unpack into one top directory",
            path=archive.path,
            fix="give the release tarball as published",
        )
    return os.path.join(parent, entries[0])


def _run_steps(
    steps: list[Step],
    archive: SourceArchive,
    source: str,
    env: dict[str, str],
    plan: _Plan,
    ctx: Context,
) -> None:
    """Run each step with its output in its own log; a failure names the step and the log."""
    for step in steps:
        log = os.path.join(plan.logs, f"{archive.component}-{step.label}.log")
        # The shell sends everything to the log as it comes, so a long step can be followed.
        argv = ["sh", "-c", 'log=$1; shift; exec "$@" >"$log" 2>&1', "sh", log, *step.argv]
        result = runner.run(argv, environ=env, cwd=source, check=False, echo=ctx.echo)
        if result.returncode != 0:
            raise RuntimeBuildError(
                f"building {archive.component} {archive.version} failed at '{step.label}' "
                f"(exit code {result.returncode}); the end of its log:\n{_tail(log)}",
                path=log,
                fix="read the whole log; a missing host tool (make, perl, tclsh, gperf) is "
                "installed with apt-get",
                returncode=result.returncode,
            )


def _tail(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            lines = stream.read().splitlines()
    except OSError:
        return "  (no log was written)"
    return "\n".join("  " + line for line in lines[-LOG_TAIL_LINES:])
