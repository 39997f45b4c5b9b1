"""The pipeline's first stages: what the app says of itself, and the binary to bundle.

A crate is built in release mode (against --python, else a portable runtime of this
machine when one is built, else the interpreter `build` finds), for this host or a
--target; a built binary is taken as it is. `read` inspects the result.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

from packager.binary import ResolveContext
from packager.binary.model import BinaryFormat, BinaryReport, LinkMode
from packager.bundle.layouts import ELF, ONEFILE, Layout
from packager.bundle.options import BundleRequest
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.crate.appmeta import AppMetadata, read_metadata
from packager.outputs import DESKTOP_FORMATS
from packager.outputs.desktop import check_theme_icon


@dataclass(frozen=True)
class Obtained:
    """The binary to bundle, and the interpreter a build used for it."""

    binary: str
    interpreter: str | None


def obtain(request: BundleRequest, layout: Layout, ctx: Context, *, crate: bool) -> Obtained:
    """Build the crate in release mode, or take the binary."""
    if not crate:
        if request.obtain.target is not None:
            raise UsageError(
                f"--target chooses what a crate is built for; {request.source} is a built "
                "binary (drop --target: its format is read from the file)"
            )
        return Obtained(request.source, request.obtain.python)
    mode = "static" if layout is ONEFILE else (request.obtain.mode or "auto")
    if request.obtain.target is not None:
        return _obtain_for_target(request, request.obtain.target, mode, ctx)
    from packager.crate.build import build_crate

    if layout is ONEFILE:
        ctx.progress(f"building {request.source} statically")
    outcome = build_crate(
        request.source,
        environ=ctx.environ,
        mode=mode,
        python=default_python(request, ctx),
        release=True,
        package=request.obtain.package,
        binary=request.obtain.binary,
        echo=ctx.echo,
        on_line=ctx.on_line,
        note=ctx.note,
    )
    binary = outcome.binaries[0]
    ctx.progress(f"built {binary} ({outcome.mode.value}, Python {outcome.python_version})")
    return Obtained(binary, outcome.interpreter)


def _obtain_for_target(request: BundleRequest, target: str, mode: str, ctx: Context) -> Obtained:
    """Build the crate in release mode for `target`, against the target's Python; no
    interpreter of this machine was used (--python-home names where its Python is)."""
    from packager.crate.cross_build import build_for_target

    outcome = build_for_target(
        request.source,
        target=target,
        environ=ctx.environ,
        python_home=request.content.python_home,
        mode=mode,
        release=True,
        package=request.obtain.package,
        binary=request.obtain.binary,
        echo=ctx.echo,
        on_line=ctx.on_line,
    )
    binary = outcome.binaries[0]
    ctx.progress(f"built {binary} for {target} (Python {outcome.python_version})")
    return Obtained(binary, None)


def read(binary: str, layout: Layout, ctx: Context) -> BinaryReport:
    """Inspect the binary; refuse one that does not embed Python or does not fit `layout`."""
    from packager.binary.inspect import inspect_file

    report = inspect_file(binary, ResolveContext(environ=dict(ctx.environ)))[0]
    if report.link_mode is LinkMode.NONE and report.format is not BinaryFormat.PE:
        raise UsageError(
            "this binary neither links libpython nor contains the interpreter",
            path=binary,
            fix="bundle the program that embeds Python (check it with `packager inspect`)",
        )
    if layout is ELF and report.format is not BinaryFormat.ELF:
        raise UsageError(
            f"expected a Linux (ELF) program, found {report.format.value.upper()}", path=binary
        )
    return report


def package_source_dir(request: BundleRequest, ctx: Context) -> str:
    """The folder of the package a crate bundle builds: at a workspace root, the member
    named by -p, or the one program."""
    from packager.crate.workspace import package_dir

    obtain = request.obtain
    return str(
        package_dir(
            request.source, package=obtain.package, binary=obtain.binary, environ=ctx.environ
        )
    )


def app_metadata(
    request: BundleRequest, name: str, ctx: Context, *, crate_dir: str | None
) -> AppMetadata:
    """The app's metadata, from the built package's Cargo.toml (`crate_dir`; None for a
    built binary) and the flags (validated)."""
    meta = read_metadata(crate_dir, name, version=request.version, flags=request.metadata)
    if set(request.formats or ()) & set(DESKTOP_FORMATS):
        check_theme_icon(meta.icon, option="--icon" if request.metadata.icon else "icon")
    return meta


def provisional_name(source: str) -> str:
    """A name to check the metadata with before the program exists: the source's."""
    return os.path.basename(os.path.abspath(source).removesuffix("/Cargo.toml")) or "app"


def program_name(request: BundleRequest, ctx: Context, *, crate: bool) -> str:
    """The name of the program `request` bundles, known before it is built: a crate's
    binary (--bin, or its package's one program, as cargo names the file), a built
    binary's file name."""
    if not crate:
        return os.path.basename(request.source)
    from packager.crate.workspace import find_crate_dir, select_package

    selection = select_package(
        find_crate_dir(request.source),
        package=request.obtain.package,
        binary=request.obtain.binary,
        environ=ctx.environ,
    )
    binaries = selection.package.binaries
    return selection.binary or (binaries[0] if binaries else provisional_name(request.source))


def runtime_of(interpreter: str) -> str | None:
    """The selector of the portable runtime `interpreter` (its bin/python3.X) belongs to."""
    from packager.python.portable import read_runtime

    runtime = read_runtime(os.path.dirname(os.path.dirname(interpreter)))
    return runtime.selector if runtime is not None else None


def default_python(request: BundleRequest, ctx: Context) -> str | None:
    """--python, else the newest portable runtime built for this machine (one that meets
    --glibc, built now when none does and this machine's glibc is newer), if any: a bundle
    made with it runs from its glibc floor on (usually 2.17), not just from this host's."""
    if request.obtain.python is not None:
        return request.obtain.python
    from packager.binary.floor import version_key
    from packager.python.portable import list_runtimes

    wanted = request.glibc
    for runtime in list_runtimes(ctx.cache_dir):
        if runtime.arch == platform.machine() and (
            wanted is None or version_key(runtime.glibc_text) <= version_key(wanted)
        ):
            if wanted is None and not _can_link_for_a_floor(runtime.selector, ctx):
                break
            ctx.progress(
                f"building against a portable runtime from the cache (--python "
                f"{runtime.selector}, glibc {runtime.glibc_text}); --python chooses another "
                "interpreter"
            )
            return runtime.executable
    host = _host_glibc_version()
    if wanted is not None and (host is None or version_key(wanted) < version_key(host)):
        return _build_runtime_for(wanted, ctx)
    ctx.note(
        f"no portable runtime is built, so the program takes this machine's Python and needs "
        f"{_host_glibc()} or newer; `packager runtime build --python 3.11 --glibc 2.17` makes "
        "one whose bundles run from glibc 2.17 on (or bundle with --glibc 2.17)"
    )
    return None


def _can_link_for_a_floor(selector: str, ctx: Context) -> bool:
    """Whether zig, which links a program against a cached runtime, is there. A runtime
    nobody asked for must not turn a build that works into one that fails."""
    from packager.core.errors import ToolError
    from packager.python.portable.toolchain import find_zig

    try:
        find_zig(ctx.environ)
    except ToolError as error:
        ctx.note(
            f"the portable runtime {selector} is in the cache, but {error.message}; building "
            f"against this machine's Python instead ({error.fix})"
        )
        return False
    return True


def _build_runtime_for(glibc: str, ctx: Context) -> str:
    """The interpreter of a portable CPython runtime for `glibc`, built into the cache now."""
    from packager.python.portable import BuildOptions, build_runtime, parse_spec
    from packager.python.target_python import DEFAULT_PYTHON

    spec = parse_spec(DEFAULT_PYTHON, glibc)
    ctx.progress(
        f"--glibc {glibc} is older than this machine's: building the portable CPython "
        f"{spec.short_version} runtime for glibc {spec.glibc_text} (once, a few minutes)…"
    )
    return build_runtime(BuildOptions(spec, jobs=os.cpu_count() or 1), ctx).runtime.executable


def _host_glibc() -> str:
    """This machine's C library, as glibc names itself ("glibc 2.36")."""
    version = _host_glibc_version()
    return f"glibc {version}" if version else "this machine's glibc"


def _host_glibc_version() -> str | None:
    """This machine's glibc version ("2.36"), None when it cannot be told."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        return None
    name, _, version = text.partition(" ")
    return version if name == "glibc" and version[:1].isdigit() else None
