"""`bundle_binary`: from a built binary to a tree, archives and installers, atomically."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence

from packager import runner
from packager.binary import ResolveContext
from packager.binary.onefile_markers import has_slot
from packager.bundle import cache
from packager.bundle.atomic import Staging, check_targets
from packager.bundle.layout import TreeSpec, build_tree, tree_size
from packager.bundle.model import (
    BundleFormat,
    BundleManifest,
    BundleOutput,
    Progress,
)
from packager.bundle.outputs import archives, deb, installer_sh, zstd
from packager.bundle.prepared import RuntimeOptions, prepare_runtime
from packager.bundle.runtime import PythonRuntime, find_runtime
from packager.bundle.stdlib import trim_rules
from packager.errors import UsageError
from packager.inspect import inspect_file
from packager.model import BinaryFormat, BinaryReport, LinkMode

SUMS_NAME = "SHA256SUMS"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
# CON, NUL, COM1... name devices on Windows, not files.
_WINDOWS_DEVICE = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


def no_progress(message: str) -> None:
    del message


def parse_formats(text: str) -> tuple[BundleFormat, ...]:
    """Formats from a comma-separated list ("dir,tar.gz"), in a fixed order, deduplicated."""
    wanted: set[BundleFormat] = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            wanted.add(BundleFormat(item))
        except ValueError:
            choices = ", ".join(fmt.value for fmt in BundleFormat)
            raise UsageError(f"unknown bundle format '{item}'", fix=f"use {choices}") from None
    if not wanted:
        raise UsageError("no bundle format given", fix="e.g. --format dir,tar.gz")
    return tuple(fmt for fmt in BundleFormat if fmt in wanted)


def output_names(
    name: str, formats: Iterable[BundleFormat], *, version: str, arch: str
) -> dict[BundleFormat, str]:
    """The file (or folder) name each format is written to, inside the output directory."""
    names: dict[BundleFormat, str] = {}
    for fmt in formats:
        if fmt is BundleFormat.DIR:
            names[fmt] = name
        elif fmt is BundleFormat.INSTALLER:
            names[fmt] = f"{name}-installer.sh"
        elif fmt is BundleFormat.DEB:
            package = deb.package_name(name)
            names[fmt] = f"{package}_{version}_{deb.deb_architecture(arch)}.deb"
        else:
            names[fmt] = f"{name}.{fmt.value}"
    return names


def bundle_binary(
    binary_path: str,
    *,
    out_dir: str,
    environ: Mapping[str, str],
    formats: Sequence[BundleFormat] = (BundleFormat.DIR,),
    name: str | None = None,
    python: str | None = None,
    runtime: PythonRuntime | None = None,
    keep: Iterable[str] = (),
    app_dir: str | None = None,
    requirements: str | None = None,
    export_env: bool = False,
    stdlib_sources: bool = False,
    strip: bool = True,
    force: bool = False,
    version: str = "0.0.0",
    python_home: str | None = None,
    progress: Progress = no_progress,
    echo: runner.Echo | None = None,
) -> BundleManifest:
    """Bundle the binary at `binary_path` into `out_dir` in each of `formats`.

    The stdlib and libpython come from `runtime` when a caller has one (a build that just
    probed its interpreter), else from `python`, else from the interpreter that matches
    what the binary links. Nothing appears in `out_dir` unless the whole run succeeds.

    The stdlib ships as a zip of .pyc files unless `stdlib_sources`; ELF files are
    stripped unless `strip` is false. The prepared runtime and the compressed frames of
    a .tar.zst are reused from the cache (`$XDG_CACHE_HOME/packager`) when present.
    """
    report = _read_binary(binary_path, environ)
    if report.format is BinaryFormat.PE:
        # Imported here: the Windows layout builds on this module's helpers.
        from packager.bundle.windows import bundle_windows

        return bundle_windows(
            binary_path,
            out_dir=out_dir,
            environ=environ,
            formats=formats,
            name=name,
            python_home=python_home,
            app_dir=app_dir,
            export_env=export_env,
            force=force,
            progress=progress,
        )
    name = name or os.path.basename(binary_path)
    check_bundle_name(name, binary_path)
    names = output_names(name, formats, version=version, arch=report.arch)
    files_written = [fmt for fmt in formats if fmt is not BundleFormat.DIR]
    check_targets(out_dir, [*names.values(), *([SUMS_NAME] if files_written else [])], force=force)
    rules, kept = trim_rules(keep)
    if runtime is None:
        progress("finding the Python installation the binary was built against")
        runtime = find_runtime(
            report, environ=environ, explicit=python, cache_dir=cache.cache_root(environ)
        )

    options = RuntimeOptions(rules, strip=strip, stdlib_sources=stdlib_sources)

    with Staging(out_dir) as staging:
        prepared = prepare_runtime(
            runtime,
            options,
            environ=environ,
            scratch=staging.entry(".runtime"),
            progress=progress,
            echo=echo,
        )
        tree_root = staging.entry(name)
        spec = TreeSpec(
            name,
            binary_path,
            report,
            runtime,
            prepared,
            app_dir,
            requirements,
            export_env,
            strip,
        )
        tree = build_tree(tree_root, spec, environ=environ, progress=progress, echo=echo)
        mtime = archives.source_mtime(environ)
        entries = archives.tree_entries(tree_root, name)
        depends: tuple[str, ...] = ()
        notes: list[str] = []
        for fmt in files_written:
            target = staging.entry(names[fmt])
            progress(f"writing {names[fmt]}")
            if fmt is BundleFormat.TAR_GZ:
                archives.write_tar_gz(entries, target, mtime)
            elif fmt is BundleFormat.TAR_ZST:
                zstd.write_tar_zst(
                    entries,
                    target,
                    mtime,
                    environ=environ,
                    frames=zstd.framed_files(tree.shipped),
                    cache_dir=cache.cache_root(environ),
                    echo=echo,
                )
            elif fmt is BundleFormat.ZIP:
                archives.write_zip(entries, target, mtime)
            elif fmt is BundleFormat.INSTALLER:
                payload = staging.entry(".installer-payload.tar.gz")
                archives.write_tar_gz(entries, payload, mtime)
                installer_sh.write_installer(name, payload, target)
            elif fmt is BundleFormat.DEB:
                work = staging.entry(".deb-work")
                os.mkdir(work)
                depends, deb_notes = deb.write_deb(
                    tree_root,
                    name,
                    tree.launcher,
                    version=version,
                    arch=report.arch,
                    python_version=runtime.interpreter.version,
                    work_dir=work,
                    out_path=target,
                    environ=environ,
                    mtime=mtime,
                    echo=echo,
                )
                notes.extend(deb_notes)
        if files_written:
            sums = archives.sha256sums({names[f]: staging.entry(names[f]) for f in files_written})
            with open(staging.entry(SUMS_NAME), "w", encoding="utf-8") as handle:
                handle.write(sums)
        outputs: list[BundleOutput] = []
        for output_format in formats:
            outputs.append(output_entry(output_format, staging.entry(names[output_format])))
        if files_written:
            outputs.append(output_entry(None, staging.entry(SUMS_NAME)))
        committed = [
            BundleOutput(
                out.format,
                staging.commit(os.path.basename(out.path), force=force),
                out.size,
                out.sha256,
            )
            for out in outputs
        ]
    if not has_slot(binary_path):
        notes.append(
            "bin/ binary does not start Python through packager's runtime "
            "(src/packager_runtime.rs), so it needs PYTHONHOME to find the bundle's stdlib: "
            "run it through the launcher"
        )
    return BundleManifest(
        name=name,
        source_binary=binary_path,
        binary_format=report.format,
        link_mode=report.link_mode,
        python_version=runtime.interpreter.version,
        interpreter=runtime.interpreter.path,
        launcher=tree.launcher,
        binary=tree.binary,
        rpath_patched=tree.rpath_patched,
        export_env=export_env,
        zip_stdlib=not stdlib_sources,
        stripped=strip,
        trimmed=tuple(rule.name for rule in rules),
        kept=kept,
        requirements=tree.installed,
        deb_depends=depends,
        sizes=tree.sizes,
        outputs=tuple(committed),
        notes=tuple(notes),
    )


def check_bundle_name(name: str, path: str, *, windows: bool = False) -> None:
    """Refuse a name that cannot name a bundle's folder, archives, launcher or program."""
    if _NAME.fullmatch(name) and not (windows and _WINDOWS_DEVICE.fullmatch(name)):
        return
    device = ", and no device name such as CON or NUL" if windows else ""
    raise UsageError(
        f"'{name}' cannot name a bundle",
        path=path,
        fix=f"use letters, digits, '.', '_', '+' and '-'{device} (pass --name)",
    )


def _read_binary(path: str, environ: Mapping[str, str]) -> BinaryReport:
    reports = inspect_file(path, ResolveContext(environ=dict(environ)))
    report = reports[0]
    if report.format is BinaryFormat.MACHO:
        raise UsageError(
            "bundling Mach-O binaries is not supported yet",
            path=path,
            fix="bundle a Linux (ELF) or Windows (PE) build of the program",
        )
    if report.link_mode is LinkMode.NONE:
        raise UsageError(
            "this binary neither links libpython nor contains the interpreter",
            path=path,
            fix="bundle the program that embeds Python (check it with `packager inspect`)",
        )
    return report


def output_entry(fmt: BundleFormat | None, path: str) -> BundleOutput:
    """A written output: its size and, for a file, its SHA-256."""
    if os.path.isdir(path):
        return BundleOutput(fmt, path, tree_size(path), None)
    return BundleOutput(fmt, path, os.path.getsize(path), archives.sha256_file(path))
