"""The output directory: what a run will write there, known before anything is built.

A run's outputs are named by the program, the package version and the machine, all
known before cargo runs: a crate's program from its manifest and its machine from the
target (this one without --target), a built binary's from the file. So an output that
already exists is refused (without --force) before a build or a runtime fetch, for
every layout. Runs share the directory itself: other apps' outputs stay, and SHA256SUMS
is merged (outputs/sums.py).
"""

from __future__ import annotations

import os

from packager.binary import read_binary
from packager.bundle.layouts import PE, Layout
from packager.bundle.obtain import program_name
from packager.bundle.options import BundleRequest
from packager.core.atomic import OutputDirError, check_targets
from packager.core.context import Context
from packager.core.errors import PackagerError
from packager.outputs import output_names
from packager.outputs.model import BundleFormat
from packager.targets import cross_target, host_arch


def refuse_existing(
    request: BundleRequest, layout: Layout, ctx: Context, *, crate: bool, version: str
) -> None:
    """Raise OutputExistsError for an output of a tree layout's `request` already in its
    --out (unless --force); `version`: the package version installers are named by."""
    names = planned_names(request, layout, ctx, crate=crate, version=version)
    check_targets(request.out_dir, names, force=request.force)


def planned_names(
    request: BundleRequest, layout: Layout, ctx: Context, *, crate: bool, version: str
) -> list[str]:
    """The entries a tree layout's `request` will write into its output directory: the
    folder and each format's file, SHA256SUMS aside (shared). A format named by the
    machine is left out when a built binary's machine cannot be read (reading it later
    says why)."""
    if request.name is not None:
        name = request.name
    elif crate:
        name = program_name(request, ctx, crate=True)
    else:
        name = default_name(request.source, layout)
    formats = request.formats or (BundleFormat.DIR,)
    arch = _machine(request, crate=crate)
    if arch is None:
        formats = tuple(fmt for fmt in formats if fmt not in _BY_MACHINE)
        arch = host_arch()
    return list(output_names(name, formats, version=version, arch=arch).values())


def default_name(binary: str, layout: Layout) -> str:
    """A bundle's name when --name is not given: the program's file name (without .exe)."""
    base = os.path.basename(binary)
    if layout is PE and base.lower().endswith(".exe"):
        return base[: -len(".exe")]
    return base


def prepare_out_dir(out_dir: str) -> None:
    """Create the output directory (and missing parents), as cargo and pip do."""
    if os.path.isdir(out_dir):
        return
    if os.path.lexists(out_dir):
        raise OutputDirError(
            "the output path exists and is not a directory",
            path=out_dir,
            fix="choose another --out",
        )
    try:
        os.makedirs(out_dir)
    except OSError as exc:
        raise OutputDirError(
            f"cannot create the output directory ({exc.strerror or exc})",
            path=out_dir,
            fix="choose an --out inside a writable directory",
        ) from exc


def _machine(request: BundleRequest, *, crate: bool) -> str | None:
    """The machine the program is for, as inspect names it: a crate's target's (this
    machine's without --target), a built binary's read from the file."""
    if crate:
        target = request.obtain.target
        return host_arch() if target is None else cross_target(target).arch
    try:
        return read_binary(request.source)[1][0].arch
    except PackagerError:
        return None


# The formats whose file names carry the machine (x86_64, amd64, x64).
_BY_MACHINE = frozenset({BundleFormat.DEB, BundleFormat.RPM, BundleFormat.MSI, BundleFormat.SETUP})
