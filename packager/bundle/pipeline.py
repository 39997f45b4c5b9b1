"""`bundle`: the bundling pipeline, one stage after another.

obtain   build the crate (release) or take the binary as it is
read     inspect it: format, arch, link mode, what it needs
layout   the layout for its target lays the program and its runtime out (layouts/)
outputs  the tree is written as archives, installers and packages (outputs/)
verify   each output is run in a sandbox where no Python is visible

Everything a user asked for is checked against the chosen layout before anything is
built, so an option a layout cannot honour is refused up front, never ignored; so is an
output already in the output directory (without --force), before cargo runs or a
runtime is fetched (`check_before_build`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, replace

from packager.binary import detect_format
from packager.binary.elf_head import elf_machine
from packager.binary.floor import version_key
from packager.binary.model import BinaryFormat, BinaryReport
from packager.binary.sbom import SBOM_SUFFIX
from packager.bundle.appdir import check_app_dir
from packager.bundle.glibc import TreeFloor, enforce_floor
from packager.bundle.layouts import ELF, ONEFILE, PE, TREE_LAYOUTS, Layout, TreeJob
from packager.bundle.obtain import (
    Obtained,
    app_metadata,
    obtain,
    package_source_dir,
    program_name,
    provisional_name,
    read,
    runtime_of,
)
from packager.bundle.onefile.builder import (
    OnefileJob,
    OnefileResult,
    build_onefile,
    check_site_dirs,
)
from packager.bundle.options import (
    METADATA_OPTIONS,
    BundleRequest,
    check_bundle_name,
    check_foreign,
    check_workdir,
    given_options,
)
from packager.bundle.out_dir import default_name, prepare_out_dir, refuse_existing
from packager.bundle.signed import (
    check_code_signing,
    check_signing,
    code_signer,
    sign_laid_out,
    signer_and_context,
)
from packager.core.atomic import Staging, check_targets
from packager.core.context import Context
from packager.core.errors import FloorError, UnreadableInputError, UsageError
from packager.crate.appmeta import check_version
from packager.outputs import check_outputs, output_names, write_outputs
from packager.outputs.authenticode import CodeSigner
from packager.outputs.launchers import check_search_path_safe
from packager.outputs.model import PACKAGE_FORMATS, BundleFormat, BundleManifest
from packager.outputs.signing import Signer
from packager.python.target_python import target_python_home, target_root_of
from packager.python.windows_embed import windows_python_home
from packager.targets import cross_target, host_arch, is_native
from packager.verify.gui import gui_tools, verify_window
from packager.verify.model import VerifyResult
from packager.verify.roots import DEBIAN_RELEASES, debian_root, lowest_glibc
from packager.verify.sandbox import verify_bundle


@dataclass(frozen=True)
class BundleRun:
    """What one bundle run wrote and, with verify, how each output behaved."""

    layout: str  # the key of the layout used: elf, pe or onefile
    manifest: BundleManifest | None  # a tree layout's outputs
    onefile: OnefileResult | None  # the onefile layout's program
    verified: tuple[VerifyResult, ...]  # one per output, in the order written

    @property
    def ok(self) -> bool:
        """Whether every verified output ran successfully (true when none was verified)."""
        return all(result.ok for result in self.verified)


@dataclass(frozen=True)
class Checked:
    """A request checked before anything is built: its layout, and what was read for it."""

    request: BundleRequest  # a --target naming this machine dropped
    layout: Layout
    crate: bool
    package: str | None  # the folder of the package a crate's tree layout builds
    gui: bool  # a GUI app bundled as an ELF tree
    name: str | None = None  # the onefile program's


def check_before_build(request: BundleRequest, ctx: Context) -> Checked:
    """Refuse, before anything is built or fetched, what cannot be honoured: options the
    layout does not take, metadata its formats cannot carry, and outputs already in the
    output directory (without --force)."""
    if request.obtain.target is not None and is_native(request.obtain.target):
        request = replace(request, obtain=replace(request.obtain, target=None))
    crate = is_crate(request.source)
    layout = choose_layout(request, crate=crate)
    check_request(request, layout, crate=crate)
    check_signing(request, ctx)
    request = check_code_signing(request, ctx, windows=layout is PE)
    if layout is ONEFILE:
        name = request.name or program_name(request, ctx, crate=crate)
        check_bundle_name(name, request.source)
        check_targets(request.out_dir, [name, name + SBOM_SUFFIX], force=request.force)
        return Checked(request, layout, crate, None, gui=False, name=name)
    package = package_source_dir(request, ctx) if crate else None
    provisional = request.name or provisional_name(request.source)
    meta = app_metadata(request, provisional, ctx, crate_dir=package)
    gui = meta.gui and layout is ELF
    if gui and (request.verify or request.verify_on):
        gui_tools(ctx.environ)  # a missing X tool is named before the build
    check_outputs(request.formats or (), meta)
    refuse_existing(request, layout, ctx, crate=crate, version=meta.version)
    return Checked(request, layout, crate, package, gui)


def bundle(request: BundleRequest, ctx: Context) -> BundleRun:
    """Run the pipeline for `request`; nothing appears in the output directory on failure."""
    checked = check_before_build(request, ctx)
    code = code_signer(checked.request, ctx)
    signer, ctx = signer_and_context(request, ctx)  # the secrets stay with the signers
    layout, crate = checked.layout, checked.crate
    request = _with_target_python(checked.request, layout, ctx, crate=crate)
    prepare_out_dir(request.out_dir)
    if layout is ONEFILE:
        assert checked.name is not None
        name = checked.name
        check_site_dirs(request.onefile_options.site_dirs)  # before the build, not after
        obtained = obtain(request, layout, ctx, crate=crate)
        binary = os.path.abspath(obtained.binary)
        foreign = elf_machine(binary) not in (None, host_arch())
        sysroot = request.content.python_home if foreign else None
        floor = enforce_floor(
            [binary], os.path.dirname(binary), request.glibc, ctx, sysroot=sysroot or "/"
        )
        _check_roots(request, floor)
        job = _onefile_job(request, obtained, name, ctx, crate=crate)
        result = build_onefile(job, ctx)
        return BundleRun(layout.key, None, result, _verify(request, [result.path], ctx))
    obtained = obtain(request, layout, ctx, crate=crate)
    report = read(obtained.binary, layout, ctx)
    manifest = _bundle_tree(
        request, layout, obtained, report, ctx, package=checked.package, signer=(signer, code)
    )
    subjects = [output.path for output in manifest.outputs if output.format is not None]
    gui = checked.gui
    return BundleRun(layout.key, manifest, None, _verify(request, subjects, ctx, gui=gui))


def _with_target_python(
    request: BundleRequest, layout: Layout, ctx: Context, *, crate: bool
) -> BundleRequest:
    """The request with its target's CPython home filled in: a Windows program's
    --python 3.X fetched (for a crate, 3.11 without it: a built program's release is the
    one it was linked against, which the user names), a Linux cross target's Debian root
    made when none is given."""
    content, obtain = request.content, request.obtain
    home: str | None
    if layout is PE and not crate and obtain.python is None:
        return request  # the layout asks for --python or --python-home
    if layout is PE:
        home = windows_python_home(obtain.python, content.python_home, ctx)
        obtain = replace(obtain, python=None)
    elif obtain.target is not None and content.python_home is None:
        # A Linux target's --python names the host interpreter that compiles its stdlib.
        home = target_python_home(cross_target(obtain.target), None, None, ctx)
    else:
        return request
    return replace(request, obtain=obtain, content=replace(content, python_home=home))


def is_crate(source: str) -> bool:
    """Whether `source` names a crate (a directory or its Cargo.toml), not a built binary."""
    return os.path.isdir(source) or os.path.basename(source) == "Cargo.toml"


def choose_layout(request: BundleRequest, *, crate: bool) -> Layout:
    """The layout for what is bundled: onefile when asked, else by the program's format."""
    if request.onefile:
        return ONEFILE
    if crate:
        return _crate_layout(request.obtain.target)
    try:
        with open(request.source, "rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        raise UnreadableInputError(
            f"cannot read the binary ({exc.strerror or exc})", path=request.source
        ) from exc
    found = detect_format(head)
    if found is BinaryFormat.PE:
        return PE
    if found is BinaryFormat.MACHO:
        raise UsageError(
            "bundling Mach-O binaries is not supported yet",
            path=request.source,
            fix="bundle a Linux (ELF) or Windows (PE) build of the program",
        )
    return ELF  # an ELF file, or something `read` will refuse with the reader's error


def _crate_layout(target: str | None) -> Layout:
    """A crate is built for this host (ELF), or for --target: its entry names the layout."""
    if target is None:
        return ELF
    return TREE_LAYOUTS[cross_target(target).layout]


def check_request(request: BundleRequest, layout: Layout, *, crate: bool) -> None:
    """Refuse what `layout` cannot honour, and malformed values, before any work starts."""
    for option in given_options(request):
        if option not in layout.options:
            raise UsageError(f"{option} cannot be used with {layout.title}{_why(option, layout)}")
    if layout is ONEFILE and request.obtain.target and _crate_layout(request.obtain.target) is PE:
        raise UsageError(
            f"--onefile writes a Linux program; {request.obtain.target} is a Windows target "
            "(drop --onefile: a Windows program is bundled as a folder or zip)"
        )
    if layout is not PE:
        check_foreign(request, crate=crate)
    for option in ("--mode", "--package", "--bin"):
        if option in given_options(request) and not crate:
            raise UsageError(
                f"{option} chooses what is built from a crate; {request.source} is a built "
                f"binary (drop {option})"
            )
    formats = request.formats or (BundleFormat.DIR,)
    unsupported = [fmt.value for fmt in formats if fmt not in layout.formats]
    if unsupported and layout is not ONEFILE:
        supported = ",".join(fmt.value for fmt in layout.formats)
        raise UsageError(
            f"{layout.title} cannot be written as {', '.join(unsupported)} "
            f"(use --format {supported})"
        )
    metadata = [option for option in given_options(request) if option in METADATA_OPTIONS]
    if metadata and not set(formats) & set(PACKAGE_FORMATS):
        installers = ",".join(fmt.value for fmt in PACKAGE_FORMATS if fmt in layout.formats)
        raise UsageError(
            f"{metadata[0]} describes the app to its installers: add --format {installers} "
            f"or drop {metadata[0]}"
        )
    if request.version is not None:
        check_version(request.version)
    onefile = request.onefile_options
    if (onefile.scripts or onefile.include) and not onefile.only_needed:
        raise UsageError("--script and --include choose what --only-needed keeps: add it")
    if onefile.only_needed and request.content.stdlib_sources:
        raise UsageError(
            "--only-needed keeps compiled modules, and --stdlib-sources ships sources",
            fix="drop one of them",
        )
    if request.name is not None:
        check_bundle_name(request.name, request.source, windows=layout is PE)
    check_search_path_safe(request.out_dir)
    if request.content.app_dir is not None:
        check_app_dir(request.content.app_dir)
    for site_dir in request.onefile_options.site_dirs:
        check_app_dir(site_dir, option="--site")
    if request.workdir is not None:
        check_workdir(request.workdir, request.content.app_dir)


def _why(option: str, layout: Layout) -> str:
    """The reason an option does not apply to a layout, for the refusal's message."""
    if layout is ONEFILE:
        reasons = {
            "--format": "a onefile program is one executable (drop --format)",
            "--mode": "a onefile program is always linked statically (drop --mode)",
            "--export-env": "a onefile program has no launcher (drop --export-env)",
            "--workdir": "a onefile program has no launcher to start it in a folder, and "
            "its app files are inside the file (drop --workdir)",
            "--stdlib-sources": "a onefile program carries compiled modules only",
            "--version": "a onefile program is not a package",
            "--sign-pfx": "it is a Linux program; Authenticode signs Windows ones",
            "--sign-pkcs11-key": "it is a Linux program; Authenticode signs Windows ones",
        }
        return f": {reasons.get(option, 'it applies to folder bundles')}"
    if option in ("--site", "--no-compress", "--no-library-cache"):
        return ": it applies to --onefile only"
    if option in ("--only-needed", "--script", "--include"):
        return ": it applies to Linux folders and --onefile"
    if option == "--workdir" and layout is PE:
        return ": the Windows launcher starts the program in the caller's folder"
    if option in ("--sign-pfx", "--sign-pkcs11-key"):
        return ": Authenticode signs Windows programs (--gpg-key signs SHA256SUMS and .rpm)"
    if option in ("--glibc", "--verify-on"):
        return ": a Windows program does not use glibc"
    if layout is PE:
        return ": a Windows bundle ships the Python of --python-home as it is"
    return ""


def _bundle_tree(
    request: BundleRequest,
    layout: Layout,
    obtained: Obtained,
    report: BinaryReport,
    ctx: Context,
    *,
    package: str | None,
    signer: tuple[Signer | None, CodeSigner | None] = (None, None),
) -> BundleManifest:
    """Lay the tree out and write its outputs, all in one staging directory; `package`:
    the folder of the package built (None for a built binary); `signer`: the OpenPGP and
    Authenticode signers."""
    name = request.name or default_name(obtained.binary, layout)
    check_bundle_name(name, obtained.binary, windows=layout is PE)
    meta = app_metadata(request, name, ctx, crate_dir=package)
    formats = request.formats or (BundleFormat.DIR,)
    names = output_names(name, formats, version=meta.version, arch=report.arch)
    check_targets(request.out_dir, names.values(), force=request.force)
    with Staging(request.out_dir) as staging:
        job = TreeJob(
            request, name, obtained.binary, report, obtained.interpreter, staging, meta, package
        )
        laid_out = layout.lay_out(job, ctx)
        if signer[1] is not None:
            laid_out = sign_laid_out(laid_out, signer[1], ctx)
        root = laid_out.tree.root
        sysroot = request.content.python_home if report.arch != host_arch() else None
        floor = (
            enforce_floor([root], root, request.glibc, ctx, sysroot=sysroot or "/")
            if layout is ELF
            else None
        )
        tree = laid_out.tree
        if floor is not None:
            _check_roots(request, floor)
            tree = dataclasses.replace(tree, glibc_floor=floor.glibc)
        written = write_outputs(
            staging, tree, formats, ctx, force=request.force, signer=signer[0],
            code_signer=signer[1],
        )  # fmt: skip
    return dataclasses.replace(
        laid_out.manifest,
        runtime=runtime_of(laid_out.manifest.interpreter),
        outputs=written.outputs,
        deb_depends=written.depends,
        notes=(*written.notes, *laid_out.manifest.notes),
        glibc_floor=floor.glibc if floor else None,
        glibc_floor_file=floor.file if floor else None,
    )


def _onefile_job(
    request: BundleRequest, obtained: Obtained, name: str, ctx: Context, *, crate: bool
) -> OnefileJob:
    """The onefile program to write, with the app's licence and version from its crate."""
    package = package_source_dir(request, ctx) if crate else None
    meta = app_metadata(request, name, ctx, crate_dir=package)
    return OnefileJob(
        binary=os.path.abspath(obtained.binary),
        interpreter=obtained.interpreter or request.obtain.python,
        out=os.path.join(request.out_dir, name),
        crate_dir=request.source if crate else None,
        content=request.content,
        onefile=request.onefile_options,
        force=request.force,
        app_licence=meta.license,
        app_version=meta.version,
        package_dir=package,
    )


def _check_roots(request: BundleRequest, floor: TreeFloor) -> None:
    """Refuse, before anything is written, outputs that --verify-on roots cannot run."""
    below = [
        name
        for name in request.verify_on
        if floor.glibc and version_key(DEBIAN_RELEASES[name]) < version_key(floor.glibc)
    ]
    if below:
        raise FloorError(
            f"{floor.file} needs glibc {floor.glibc}, and Debian {', '.join(below)} "
            f"has glibc {lowest_glibc(below)}: the output cannot run there; nothing was written",
            fix=f"build for that glibc (--glibc {lowest_glibc(below)} names every file to "
            "rebuild), or drop it from --verify-on",
        )


def _verify(
    request: BundleRequest, subjects: list[str], ctx: Context, *, gui: bool = False
) -> tuple[VerifyResult, ...]:
    """Run each written output in the sandbox: over this host with --verify, and over the
    minimal Debian root of each --verify-on release; a GUI app on a virtual screen, until
    its window shows."""
    roots = [debian_root(name, ctx) for name in request.verify_on]
    if request.verify:
        roots.insert(0, "/")
    results: list[VerifyResult] = []
    for root in roots:
        where = "" if root == "/" else f" over {os.path.basename(root)}"
        for subject in subjects:
            ctx.progress(f"verifying {subject} in a sandbox{where}")
            if gui:
                results.append(
                    verify_window(subject, environ=ctx.environ, echo=ctx.echo, root=root)
                )
            else:
                results.append(
                    verify_bundle(
                        subject,
                        environ=ctx.environ,
                        echo=ctx.echo,
                        root=root,
                        sysroot=target_root_of(request.content.python_home),
                    )
                )
    return tuple(results)
