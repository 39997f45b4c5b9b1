"""The outputs stage: a laid-out tree written as archives, installers and packages.

Each format is one entry of `WRITERS`: how its file is named and how it is written from
the staged tree. `write_outputs` writes the requested ones beside the tree, commits
them into the output directory, and merges their lines into the SHA256SUMS that the
runs into that directory share (`sums.py`). A tree that carries an SBOM (sbom.cdx.json,
every Linux bundle) gets a copy of it beside each output, OUTPUT.cdx.json (NAME.cdx.json
for the folder), listed in SHA256SUMS too. The launcher
scripts and the bundle manifest's values live here too. May import: core, targets,
binary, python, crate.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from packager.binary.sbom import SBOM_NAME, SBOM_SUFFIX
from packager.core import runner
from packager.core.atomic import Staging
from packager.core.context import Context
from packager.core.errors import PackagerError
from packager.core.fsutil import sha256_file, tree_size
from packager.crate.appmeta import AppMetadata
from packager.outputs import (
    archives,
    authenticode,
    deb,
    installer_sh,
    msi,
    nsis,
    rpm,
    signing,
    zstd,
)
from packager.outputs.model import BundleFormat, BundleOutput
from packager.outputs.sums import merge_sums
from packager.outputs.windows import InstallerJob


@dataclass(frozen=True)
class StagedTree:
    """A laid-out bundle in the staging directory, and the facts its outputs are named by."""

    root: str  # the tree, named `name` inside the staging directory
    name: str
    launcher: str  # relative to root
    arch: str  # the program's machine, as inspect names it
    python_version: str
    version: str  # the package version
    shipped: Mapping[str, str] = field(default_factory=dict)  # runtime files: {path: SHA-256}
    glibc_floor: str | None = None  # the oldest glibc the tree runs on; None: no ELF needs one
    meta: AppMetadata | None = None  # what installers say about the app


@dataclass(frozen=True)
class Written:
    """What writing one output found out beyond the file itself."""

    depends: tuple[str, ...] = ()  # system packages the output declares it needs
    notes: tuple[str, ...] = ()


# (the staged tree, the output's staging path, a scratch-path maker, the context)
WriteOutput = Callable[[StagedTree, str, Callable[[str], str], Context], Written]


@dataclass(frozen=True)
class Writer:
    """How one output format is named and written."""

    file_name: Callable[[StagedTree], str]
    write: WriteOutput
    # Refuses metadata the format cannot carry, before anything is built.
    check: Callable[[AppMetadata], None] | None = None


def _plain_archive(write: Callable[[list[archives.Entry], str, int], None]) -> WriteOutput:
    """A writer for an archive made from the tree's entries alone (tar.gz, zip)."""

    def write_output(
        tree: StagedTree, target: str, scratch: Callable[[str], str], ctx: Context
    ) -> Written:
        write(_entries(tree), target, archives.source_mtime(ctx.environ))
        return Written()

    return write_output


def _write_tar_zst(
    tree: StagedTree, target: str, scratch: Callable[[str], str], ctx: Context
) -> Written:
    zstd.write_tar_zst(
        _entries(tree),
        target,
        archives.source_mtime(ctx.environ),
        environ=ctx.environ,
        frames=zstd.framed_files(tree.shipped),
        cache_dir=ctx.cache_dir,
        echo=ctx.echo,
    )
    return Written()


def _write_installer(
    tree: StagedTree, target: str, scratch: Callable[[str], str], ctx: Context
) -> Written:
    payload = scratch(".installer-payload.tar.gz")
    entries = installer_sh.payload_entries(_entries(tree), tree.name, tree.meta)
    archives.write_tar_gz(entries, payload, archives.source_mtime(ctx.environ))
    installer_sh.write_installer(
        tree.name,
        payload,
        target,
        arch=tree.arch,
        glibc_floor=tree.glibc_floor,
        meta=tree.meta,
    )
    return Written()


def _write_deb(
    tree: StagedTree, target: str, scratch: Callable[[str], str], ctx: Context
) -> Written:
    work = scratch(".deb-work")
    os.mkdir(work)
    depends, notes = deb.write_deb(
        tree.root,
        tree.name,
        tree.launcher,
        version=tree.version,
        arch=tree.arch,
        python_version=tree.python_version,
        work_dir=work,
        out_path=target,
        environ=ctx.environ,
        mtime=archives.source_mtime(ctx.environ),
        meta=tree.meta,
        echo=ctx.echo,
    )
    return Written(depends, notes)


def _write_rpm(
    tree: StagedTree, target: str, scratch: Callable[[str], str], ctx: Context
) -> Written:
    work = scratch(".rpm-work")
    os.mkdir(work)
    assert tree.meta is not None, "a tree layout always carries the app's metadata"
    notes = rpm.write_rpm(
        tree.root,
        tree.name,
        tree.launcher,
        meta=tree.meta,
        arch=tree.arch,
        work_dir=work,
        out_path=target,
        environ=ctx.environ,
        mtime=archives.source_mtime(ctx.environ),
        echo=ctx.echo,
    )
    return Written(notes=notes)


def _windows_installer(
    write: Callable[[InstallerJob, Mapping[str, str], runner.Echo | None], None],
) -> WriteOutput:
    """A writer for a Windows installer (msi, setup) of the tree."""

    def write_output(
        tree: StagedTree, target: str, scratch: Callable[[str], str], ctx: Context
    ) -> Written:
        assert tree.meta is not None, "the PE layout gives every tree its metadata"
        work = scratch(f".{os.path.basename(target)}-work")
        os.mkdir(work)
        job = InstallerJob(
            tree.root, tree.name, tree.meta, tree.arch, tree.python_version, work, target
        )
        write(job, ctx.environ, ctx.echo)
        if not tree.meta.upgrade_code_derived:
            return Written()
        return Written(
            notes=(
                f"the Windows installers' upgrade code {tree.meta.upgrade_code} was derived "
                "from the name and publisher, so a later version replaces an installed one "
                "only while both stay the same; set upgrade-code in "
                "[package.metadata.packager] (or pass --upgrade-code) to keep it for good",
            )
        )

    return write_output


def _entries(tree: StagedTree) -> list[archives.Entry]:
    return archives.tree_entries(tree.root, tree.name)


# The formats that are Windows programs themselves, signed once written (--sign-pfx).
_INSTALLERS = frozenset({BundleFormat.MSI, BundleFormat.SETUP})

WRITERS: dict[BundleFormat, Writer] = {
    BundleFormat.TAR_GZ: Writer(
        lambda t: f"{t.name}.tar.gz", _plain_archive(archives.write_tar_gz)
    ),
    BundleFormat.TAR_ZST: Writer(lambda t: f"{t.name}.tar.zst", _write_tar_zst),
    BundleFormat.ZIP: Writer(lambda t: f"{t.name}.zip", _plain_archive(archives.write_zip)),
    BundleFormat.INSTALLER: Writer(lambda t: f"{t.name}-installer.sh", _write_installer),
    BundleFormat.DEB: Writer(
        lambda t: f"{deb.package_name(t.name)}_{t.version}_{deb.deb_architecture(t.arch)}.deb",
        _write_deb,
    ),
    BundleFormat.RPM: Writer(
        lambda t: rpm.package_file_name(deb.package_name(t.name), t.version, t.arch),
        _write_rpm,
    ),
    BundleFormat.MSI: Writer(
        lambda t: msi.msi_file_name(t.name, t.version, t.arch),
        _windows_installer(msi.write_msi),
        check=msi.check_metadata,
    ),
    BundleFormat.SETUP: Writer(
        lambda t: nsis.setup_file_name(t.name, t.version, t.arch),
        _windows_installer(nsis.write_setup),
        check=nsis.check_setup_metadata,
    ),
}
# The formats that install the app's menu entry and icon (outputs/desktop.py).
DESKTOP_FORMATS = (BundleFormat.INSTALLER, BundleFormat.DEB, BundleFormat.RPM)


def check_outputs(formats: Iterable[BundleFormat], meta: AppMetadata) -> None:
    """Refuse, before the build, metadata one of `formats` cannot carry (UsageError)."""
    for fmt in formats:
        writer = WRITERS.get(fmt)
        if writer is not None and writer.check is not None:
            writer.check(meta)


def output_names(
    name: str, formats: Iterable[BundleFormat], *, version: str, arch: str
) -> dict[BundleFormat, str]:
    """The file (or folder) name each format is written to, inside the output directory."""
    facts = StagedTree(
        root="", name=name, launcher="", arch=arch, python_version="", version=version
    )
    return {
        fmt: name if fmt is BundleFormat.DIR else WRITERS[fmt].file_name(facts) for fmt in formats
    }


@dataclass(frozen=True)
class OutputsWritten:
    """The committed outputs, and what their writers found out."""

    outputs: tuple[BundleOutput, ...]
    depends: tuple[str, ...]
    notes: tuple[str, ...]


def write_outputs(
    staging: Staging,
    tree: StagedTree,
    formats: Iterable[BundleFormat],
    ctx: Context,
    *,
    force: bool,
    signer: signing.Signer | None = None,
    code_signer: authenticode.CodeSigner | None = None,
) -> OutputsWritten:
    """Write each format of the staged tree, commit them, then merge their lines into
    the output directory's SHA256SUMS (shared with other runs into it); with `signer`,
    an .rpm is signed before it is committed, and SHA256SUMS.asc made under the lock; with
    `code_signer`, the .msi and setup.exe get an Authenticode signature once made."""
    names = output_names(tree.name, formats, version=tree.version, arch=tree.arch)
    depends: list[str] = []
    notes: list[str] = []
    for fmt, file in names.items():
        if fmt is BundleFormat.DIR:
            continue
        ctx.progress(f"writing {file}")
        written = WRITERS[fmt].write(tree, staging.entry(file), staging.entry, ctx)
        if signer is not None and fmt is BundleFormat.RPM:
            ctx.progress(f"signing {file} with key {signer.key}")
            signing.sign_rpm(signer, staging.entry(file))
        if code_signer is not None and fmt in _INSTALLERS:
            ctx.progress(f"signing {file} (Authenticode)")
            authenticode.sign_file(code_signer, staging.entry(file))
        depends.extend(written.depends)
        notes.extend(written.notes)
    beside = _stage_sboms(staging, tree, names.values())
    measured = [output_entry(fmt, staging.entry(file)) for fmt, file in names.items()]
    committed = [
        BundleOutput(out.format, staging.commit(name, force=force), out.size, out.sha256)
        for out, name in zip(measured, names.values(), strict=True)
    ]
    # A copy of the SBOM belongs to its output, checked free or replaced just above.
    committed += [output_entry(None, staging.commit(name, force=True)) for name in beside]
    digests = {os.path.basename(out.path): out.sha256 for out in committed if out.sha256}
    if digests:
        sign = None if signer is None else functools.partial(_sign_sums, signer)
        sums = merge_sums(staging.out_dir, digests, sign=sign, note=ctx.note)
        committed.append(output_entry(None, sums))
        if signer is not None:
            committed.append(output_entry(None, sums + signing.SIGNATURE_SUFFIX))
    # Formats of one kind may find the same thing (both Windows installers, say): once.
    return OutputsWritten(tuple(committed), tuple(depends), tuple(dict.fromkeys(notes)))


def _sign_sums(signer: signing.Signer, path: str) -> None:
    """Sign OUT/SHA256SUMS; when that fails, the error says the outputs are in place
    (signing was checked before the build, so this is rare: a lost agent, a full disk)."""
    try:
        signing.sign_detached(signer, path)
    except PackagerError as exc:
        exc.fix = (
            f"the outputs are written and listed in {path}, unsigned; sign it with `gpg "
            f"--local-user {signer.key} --armor --detach-sign {path}`, or bundle again "
            f"with --force ({exc.fix})"
        )
        raise


def _stage_sboms(staging: Staging, tree: StagedTree, outputs: Iterable[str]) -> list[str]:
    """Copy the tree's SBOM beside each output in the staging directory; their names
    ([] when the tree has no SBOM)."""
    sbom = os.path.join(tree.root, SBOM_NAME)
    if not os.path.isfile(sbom):
        return []
    with open(sbom, "rb") as handle:
        data = handle.read()
    names = [f"{output}{SBOM_SUFFIX}" for output in outputs]
    for name in names:
        with open(staging.entry(name), "wb") as handle:
            handle.write(data)
    return names


def output_entry(fmt: BundleFormat | None, path: str) -> BundleOutput:
    """A written output: its size and, for a file, its SHA-256."""
    if os.path.isdir(path):
        return BundleOutput(fmt, path, tree_size(path), None)
    return BundleOutput(fmt, path, os.path.getsize(path), sha256_file(path))
