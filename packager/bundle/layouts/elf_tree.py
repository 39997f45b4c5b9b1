"""Lay out the relocatable tree of one bundle.

NAME/NAME                      launcher (sh): PYTHONHOME, LD_LIBRARY_PATH, then exec
NAME/bin/NAME                  the real binary, RUNPATH $ORIGIN/../lib (dynamic builds)
NAME/lib/libpython3.X.so.1.0   the shared libpython (dynamic builds)
NAME/lib/python3.X/            the compiled pure-Python stdlib (mod.pyc files only),
                               lib-dynload/ and site-packages/ (the --requirements, the
                               restore hook); with --stdlib-sources, the whole stdlib
                               as sources and __pycache__ instead of the .pyc files
NAME/app/                      the --app-dir files
NAME/lib/tcl8.6, lib/tk8.6     Tcl's and Tk's script libraries, when tkinter is kept,
NAME/lib/fonts/                and a font for systems without fonts (see tcltk.py)
NAME/licenses/                 the licence texts of what it ships, README the index
                               (see licences.py)
NAME/sbom.cdx.json             what it ships as a CycloneDX SBOM, every ELF file with its
                               SHA-256 (see sbom.py)

Everything that comes from the Python installation is laid out from the prepared runtime
(see prepared.py): hard links to its modules, copies of its ELF files; ELF files are
stripped unless the spec says not to.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from packager.binary.elf_head import elf_files_under, is_elf
from packager.binary.model import BinaryReport, LinkMode
from packager.bundle import stdlib
from packager.bundle.licences import LicenceInputs, write_licences
from packager.bundle.needed import LeftOut, NeededSpec, keep_needed
from packager.bundle.prepared import LIBPYTHON, PreparedRuntime
from packager.bundle.rpaths import scrub_rpaths, set_run_path
from packager.bundle.sbom import SbomFacts, write_sbom
from packager.bundle.site_packages import WheelTarget, pip_install, runtime_target
from packager.bundle.strip import strip_files, to_strip
from packager.bundle.tcltk import ShippedTclTk, ship_tcltk
from packager.bundle.vendor import Vendored, unchanged, vendor_libraries
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.core.fsutil import tree_size
from packager.outputs.launchers import posix_launcher
from packager.outputs.model import SizeBreakdown
from packager.python.runtime import PythonRuntime
from packager.targets.machines import machine

RPATH = "$ORIGIN/../lib"
# The bundle's --workdir, which bin/NAME's start-up code enters as the launcher does.
WORKDIR_FILE = "lib/packager-workdir"


@dataclass(frozen=True)
class TreeSpec:
    """Everything the tree is made from."""

    name: str
    binary: str  # the binary to ship
    report: BinaryReport  # what inspect read from it
    runtime: PythonRuntime
    prepared: PreparedRuntime  # the runtime's files, ready to copy
    app_dir: str | None = None
    requirements: str | None = None
    export_env: bool = False
    strip: bool = True
    workdir: str | None = None  # the folder the launcher starts the program in
    unstripped: tuple[str, ...] = ()  # shell patterns of files left unstripped
    glibc: str | None = None  # with requirements: take only wheels for this glibc
    sysroot: str = "/"  # where the system libraries it ships come from (a target's root)
    app_licence: str | None = None  # the app's licence expression, for licenses/
    package_dir: str | None = None  # the crate's package folder (its license-file, Cargo.lock)
    app_version: str = ""  # the app's version, for the SBOM
    strict_licences: bool = False  # refuse a shipped library without a licence text
    needed: NeededSpec | None = None  # --only-needed: what the program's imports follow


@dataclass(frozen=True)
class Tree:
    """What build_tree laid out, with paths relative to the tree's root."""

    launcher: str
    binary: str
    rpath_patched: bool
    installed: tuple[str, ...]  # "name==version" of each distribution in site-packages
    sizes: SizeBreakdown
    shipped: Mapping[str, str]  # SHA-256 of each file copied from the prepared runtime
    vendored: tuple[str, ...]  # system libraries copied into lib/ (sonames)
    licence_notes: tuple[str, ...] = ()  # what licenses/ lacks
    unlicensed: tuple[str, ...] = ()  # shipped libraries licenses/ has no text for
    left_out: LeftOut | None = None  # what --only-needed removed


def build_tree(
    root: str,
    spec: TreeSpec,
    ctx: Context,
) -> Tree:
    """Create the tree at `root` (which must not exist yet)."""
    dynamic = spec.report.link_mode is LinkMode.DYNAMIC
    binary = _install_binary(root, spec, dynamic, ctx)
    ctx.progress("laying out libpython and the standard library from the prepared runtime")
    shipped = _copy_prepared(root, spec)
    installed: tuple[str, ...] = ()
    if spec.requirements:
        installed = _install_requirements(root, spec.requirements, spec, ctx)
    if spec.app_dir:
        _copy_app(spec.app_dir, os.path.join(root, "app"))
    _check_workdir(root, spec)
    left_out = keep_needed(root, spec.runtime, spec.needed, ctx) if spec.needed else None
    if spec.workdir is not None:
        stdlib.write_text(os.path.join(root, WORKDIR_FILE), spec.workdir + "\n", mode=0o644)
    launcher, tcltk = _write_launcher(root, spec, binary, dynamic, ctx)
    vendored = vendor_libraries(root, ctx, sysroot=spec.sysroot)
    licences = write_licences(root, _licence_inputs(spec, dynamic, vendored, tcltk), ctx)
    ctx.progress("writing the SBOM (sbom.cdx.json)")
    facts = SbomFacts(
        spec.name, spec.app_version, spec.runtime, spec.sysroot, machine(spec.report.arch).deb or ""
    )
    write_sbom(root, licences.notices, facts, ctx.environ)
    sizes = measure(root, spec.name, spec.runtime)
    return Tree(
        launcher,
        binary,
        dynamic,
        installed,
        sizes,
        unchanged(shipped, {*vendored.changed, *(left_out.removed if left_out else ())}),
        vendored.sonames,
        licences.notes,
        licences.unlicensed,
        left_out,
    )


def _licence_inputs(
    spec: TreeSpec, dynamic: bool, vendored: Vendored, tcltk: ShippedTclTk | None
) -> LicenceInputs:
    """What licenses/ is gathered from besides the tree."""
    return LicenceInputs(
        spec.name,
        spec.runtime,
        static=not dynamic,
        sysroot=spec.sysroot,
        vendored=vendored.sources,
        tcltk=tcltk.sources if tcltk else {},
        app_licence=spec.app_licence,
        package_dir=spec.package_dir,
        strict=spec.strict_licences,
    )


def _install_binary(root: str, spec: TreeSpec, dynamic: bool, ctx: Context) -> str:
    """Copy the binary into bin/, stripped and with its RUNPATH set; its tree path."""
    os.makedirs(os.path.join(root, "bin"))
    binary = f"bin/{spec.name}"
    stdlib.copy_file(spec.binary, os.path.join(root, binary))
    os.chmod(os.path.join(root, binary), 0o755)
    if spec.strip and to_strip([os.path.join(root, binary)], root, spec.unstripped):
        strip_files([os.path.join(root, binary)], ctx, keep_symbols=_symbols_to_keep(spec.report))
    if dynamic:
        _patch_rpath(os.path.join(root, binary), ctx)
    return binary


def _install_requirements(
    root: str, requirements: str, spec: TreeSpec, ctx: Context
) -> tuple[str, ...]:
    """Install, compile and strip `requirements` in site-packages; what was installed."""
    ctx.progress(f"installing {requirements} into site-packages")
    site_packages = os.path.join(root, spec.runtime.site_packages)
    python = spec.runtime.interpreter.executable
    installed = pip_install(python, requirements, site_packages, ctx, _wheels_for(spec))
    prefix = os.path.relpath(site_packages, root)
    stdlib.compile_tree(python, site_packages, ctx, source_prefix=prefix)
    shared_objects = elf_files_under(site_packages)
    scrub_rpaths(shared_objects, ctx)
    if spec.strip:
        strip_files(to_strip(shared_objects, root, spec.unstripped), ctx)
    return installed


def _check_workdir(root: str, spec: TreeSpec) -> None:
    """Refuse a --workdir that is not a folder of the tree."""
    if spec.workdir is not None and not os.path.isdir(os.path.join(root, spec.workdir)):
        raise UsageError(
            f"--workdir {spec.workdir} is not a folder of the bundle",
            path=spec.app_dir,
            fix="name a folder the bundle has, e.g. --workdir app, or app/SUBDIR of --app-dir",
        )


def _write_launcher(
    root: str, spec: TreeSpec, binary: str, dynamic: bool, ctx: Context
) -> tuple[str, ShippedTclTk | None]:
    """Ship Tcl/Tk if tkinter is kept, then write the launcher; (its tree path, Tcl/Tk)."""
    dynload = os.path.join(root, "lib", spec.runtime.version_dir, "lib-dynload")
    tcltk = ship_tcltk(root, dynload, spec.runtime.interpreter.executable, ctx)
    launcher = spec.name
    text = posix_launcher(
        spec.name,
        binary,
        set_library_path=dynamic,
        export_env=spec.export_env,
        workdir=spec.workdir,
        tcl_tk=(tcltk.tcl, tcltk.tk, tcltk.fonts_conf) if tcltk else None,
    )
    stdlib.write_text(os.path.join(root, launcher), text, mode=0o755)
    return launcher, tcltk


def _wheels_for(spec: TreeSpec) -> WheelTarget | None:
    """The wheels --requirements may take for a --glibc floor, or for a portable runtime's
    floor; None: pip's own choice."""
    if spec.glibc is None:
        return runtime_target(spec.runtime.interpreter.executable, spec.report.arch)
    major, minor = spec.runtime.interpreter.version.split(".")[:2]
    arch = "i686" if spec.report.arch == "i386" else spec.report.arch
    return WheelTarget(spec.glibc, arch, f"{major}.{minor}", f"cp{major}{minor}")


def _symbols_to_keep(report: BinaryReport) -> tuple[str, ...]:
    """Static symbols `packager inspect` and `check` read in the binary, as strip patterns.

    A static embed keeps its Py* symbols too: without --export-dynamic they exist only in
    .symtab, and they are how inspect tells such a binary from one without Python.
    """
    if report.link_mode is LinkMode.STATIC:
        return ("PyInit_*", "Py*", "_Py*")
    return ("PyInit_*",)


def _copy_prepared(root: str, spec: TreeSpec) -> dict[str, str]:
    """Lay the prepared runtime's files out in the tree; {tree path: SHA-256}.

    Compiled modules and libpython are copied: vendoring may set their run paths in
    place. Every other file (modules, their .pyc, data) is a hard link to the cache's
    (a copy where the file system refuses one): nothing writes to them, and a file of
    the cache changed through one is found and prepared again by the next build."""
    shipped: dict[str, str] = {}
    for relative, digest in sorted(spec.prepared.digests.items()):
        if relative == LIBPYTHON:
            # Named as the binary's DT_NEEDED entry asks (the soname), whatever the file is.
            libpython = spec.report.libpython
            needed = libpython.name if libpython else os.path.basename(spec.runtime.libpython or "")
            target = os.path.join(root, "lib", needed)
        else:
            target = os.path.join(root, *relative.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        source = os.path.join(spec.prepared.root, *relative.split("/"))
        if relative == LIBPYTHON or is_elf(source) or not _linked(source, target):
            stdlib.copy_file(source, target)
        shipped[target] = digest
    return shipped


def _linked(source: str, target: str) -> bool:
    """Whether `target` is now a hard link to `source`: not when `source` has a mode
    other than the 0644 or 0755 a copy would get (a cache made under umask 002)."""
    try:
        if os.stat(source).st_mode & 0o7777 not in (0o644, 0o755):
            return False
        os.link(source, target)
    except OSError:
        return False
    return True


def _patch_rpath(binary: str, ctx: Context) -> None:
    """Point the program at the tree's lib/ (as DT_RPATH: a variable naming another
    libpython cannot replace the bundle's when the program runs without its launcher)."""
    set_run_path(binary, [RPATH], ctx)


def _copy_app(source: str, target: str) -> None:
    if not os.path.isdir(source):
        raise UsageError("--app-dir is not a directory", path=source)
    # Symlinks are followed: the bundle must not point outside itself.
    shutil.copytree(source, target, symlinks=False, copy_function=stdlib.copy_file)


def measure(root: str, name: str, runtime: PythonRuntime) -> SizeBreakdown:
    """Sizes of the tree's parts, in bytes."""
    version_dir = os.path.join(root, "lib", runtime.version_dir)
    site_packages = os.path.join(root, runtime.site_packages)
    binary = os.path.getsize(os.path.join(root, "bin", name))
    libpython = sum(
        os.path.getsize(os.path.join(root, "lib", entry))
        for entry in os.listdir(os.path.join(root, "lib"))
        if entry.startswith("libpython")
    )
    site = tree_size(site_packages)
    stdlib_size = tree_size(version_dir) - site
    app = tree_size(os.path.join(root, "app"))
    other = tree_size(root) - binary - libpython - stdlib_size - site - app
    return SizeBreakdown(binary, libpython, stdlib_size, site, app, other)
