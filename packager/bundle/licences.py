"""`licenses/` in a Linux bundle: the licence texts of everything it ships, and an index.

Each component is one entry of `licenses/README`: its name, its licence when known, where
the text came from, the text(s) copied into `licenses/COMPONENT/`, and the files and
folders of the bundle it covers (a path ending in `/` covers everything under it):

- the app (bin/NAME, the launcher, app/): the crate's `license-file`, else its licence
  expression (`license`, or `--license`) on its own;
- CPython (libpython, the stdlib, lib-dynload, bin/NAME of a static embed): the
  interpreter's LICENSE.txt, else the copyright file of the Debian package that ships
  libpython or the stdlib;
- a portable runtime's libraries, each mapped to the modules it is linked into, with the
  texts of the sources the runtime was built from (packager.python.portable.licences);
- each system library vendored into lib/, and Tcl/Tk's scripts and the font a tkinter
  bundle carries: the copyright file of the Debian package that owns the file copied;
- each distribution of site-packages: its .dist-info licence files, else the licence its
  metadata states.

A shipped shared library or extension module that no entry with a text covers is named
in a note, or refused with `--strict-licenses` (the layout then writes nothing).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from packager.binary.elf_head import elf_files_under
from packager.bundle import stdlib
from packager.bundle.licence_sources import (
    app_licence_file,
    debian_copyright,
    debian_owners,
    distributions,
)
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.python.portable.licences import SourceNotice, runtime_notices
from packager.python.portable.store import Runtime, read_runtime
from packager.python.runtime import PythonRuntime

LICENSES_DIR = "licenses"
INDEX = f"{LICENSES_DIR}/README"
_SLUG = re.compile(r"[^A-Za-z0-9._+-]+")
_DEP5_LICENSE = re.compile(r"^License: *(\S.*)$", re.MULTILINE)
_HEADER = """\
Licences of what this bundle ships: the app, the Python runtime and every third-party
library, package and data file it carries. Each entry names a component, its licence,
the licence texts in this folder and the files of the bundle it covers (a path ending
in / covers everything under it).
"""


@dataclass(frozen=True)
class Notice:
    """One component of a bundle and the licence texts that go with it."""

    component: str  # "CPython 3.11.2", "libssl3", "MarkupSafe 3.0.2"
    covers: tuple[str, ...]  # paths relative to the bundle; a folder ends with "/"
    texts: tuple[str, ...] = ()  # files to copy into licenses/COMPONENT/
    licence: str = ""  # an SPDX expression or short name, when known
    origin: str = ""  # where the texts were found
    stated: bool = False  # the licence statement stands in for a text (a wheel's metadata)
    # What the SBOM names it by (sbom.py): its kind, name and version.
    kind: str = ""  # app, cpython, runtime-source, deb, pypi; "" for a file no package owns
    name: str = ""
    version: str = ""

    @property
    def licensed(self) -> bool:
        """Whether the bundle carries its licence: a text, or a stated licence."""
        return bool(self.texts) or (self.stated and bool(self.licence))


@dataclass(frozen=True)
class LicenceInputs:
    """What a tree's licences are gathered from besides the tree itself."""

    name: str  # the bundle's name: bin/NAME and the launcher NAME
    runtime: PythonRuntime
    static: bool  # the program embeds CPython itself
    sysroot: str = "/"  # where system files come from: this machine or a target's root
    vendored: Mapping[str, str] = field(default_factory=dict)  # soname -> copied from
    tcltk: Mapping[str, str] = field(default_factory=dict)  # tree path -> copied from
    app_licence: str | None = None  # the app's licence expression (--license, Cargo.toml)
    package_dir: str | None = None  # the crate's package folder; None for a built binary
    strict: bool = False  # --strict-licenses


@dataclass(frozen=True)
class Licences:
    """What write_licences put into a tree."""

    components: int
    unlicensed: tuple[str, ...]  # shipped ELF files no licence text covers
    notes: tuple[str, ...]
    notices: tuple[Notice, ...] = ()  # every component, as the index lists them


def write_licences(root: str, inputs: LicenceInputs, ctx: Context) -> Licences:
    """Gather the notices of the tree at `root`, refuse (--strict-licenses) or note the
    files none covers, and write licenses/ with its README."""
    ctx.progress("gathering the licence texts of what the bundle ships")
    notices, notes = gather(root, inputs, ctx)
    missing = unlicensed(root, notices, f"bin/{inputs.name}")
    notes += refuse_or_note(missing, strict=inputs.strict)
    write_texts(root, notices)
    return Licences(len(notices), tuple(missing), tuple(notes), tuple(notices))


def refuse_or_note(missing: list[str], *, strict: bool) -> list[str]:
    """Refuse (--strict-licenses) the shipped files `missing` a licence text, else a note
    naming them ([] when none is missing)."""
    if missing and strict:
        raise UsageError(
            "--strict-licenses: no licence text found for " + ", ".join(missing),
            fix="ship these files' licences, or bundle without --strict-licenses",
        )
    if missing:
        return [f"no licence text found for {', '.join(missing)}: {INDEX} lists them without one"]
    return []


def portable_runtime(runtime: PythonRuntime) -> Runtime | None:
    """The portable runtime `runtime`'s stdlib belongs to; None for another interpreter."""
    return read_runtime(os.path.dirname(os.path.dirname(runtime.stdlib_dir)))


def gather(root: str, inputs: LicenceInputs, ctx: Context) -> tuple[list[Notice], list[str]]:
    """Every component's notice, and notes on what could not be looked up."""
    notes: list[str] = []
    notices = [_app(root, inputs), _cpython(root, inputs, ctx)]
    portable = portable_runtime(inputs.runtime)
    if portable is not None:
        found, runtime_notes = runtime_notices(portable, ctx)
        notes += runtime_notes
        notices += _portable(root, inputs, found)
    system = {f"lib/{soname}": source for soname, source in inputs.vendored.items()}
    # A portable runtime's Tcl/Tk scripts are its own (_portable); the font is the host's.
    prefix = os.path.realpath(portable.prefix) + os.sep if portable else None
    system.update(
        (f"{path}/" if os.path.isdir(os.path.join(root, path)) else path, source)
        for path, source in inputs.tcltk.items()
        if prefix is None or not os.path.realpath(source).startswith(prefix)
    )
    notices += _system_files(system, inputs, ctx)
    site_packages = inputs.runtime.site_packages
    notices += distribution_notices(os.path.join(root, site_packages), site_packages)
    return notices, notes


def distribution_notices(site_dir: str, prefix: str) -> list[Notice]:
    """One entry per distribution installed in `site_dir`, covering what it installed as
    paths under `prefix` (site-packages' path in the bundle)."""
    notices: list[Notice] = []
    for dist in distributions(site_dir):
        covers = tuple(f"{prefix}/{entry}" for entry in dist.top_level)
        origin = "its .dist-info" if dist.texts else "its METADATA (no licence file)"
        component = f"{dist.name} {dist.version}".strip()
        sbom = Notice(component, covers, kind="pypi", name=dist.name, version=dist.version)
        notices.append(replace(sbom, texts=dist.texts, licence=dist.licence, origin=origin,
                               stated=True))  # fmt: skip
    return notices


def _app(root: str, inputs: LicenceInputs) -> Notice:
    """The app's own entry: its licence file, else its licence expression (which stands
    for the app's own files, app/ included)."""
    covers = [f"bin/{inputs.name}", inputs.name]
    if os.path.isdir(os.path.join(root, "app")):
        covers.append("app/")
    return app_notice(inputs.name, covers, inputs.app_licence, inputs.package_dir)


def app_notice(
    name: str, covers: list[str], app_licence: str | None, package_dir: str | None
) -> Notice:
    """The app's entry covering `covers`: the crate's licence file (in `package_dir`),
    else its licence expression (`app_licence`, else the crate's `license`)."""
    path, expression = app_licence_file(package_dir)
    licence = app_licence or expression or ""
    origin = "the crate's license-file" if path else ("its licence expression" if licence else "")
    texts = (path,) if path else ()
    notice = Notice(name, tuple(covers), texts, licence, origin, bool(licence))
    return replace(notice, kind="app", name=name)


def _cpython(root: str, inputs: LicenceInputs, ctx: Context) -> Notice:
    """CPython's entry: LICENSE.txt of the interpreter, else its Debian package's file."""
    runtime = inputs.runtime
    lib = os.path.join(root, "lib")
    covers = [f"lib/{entry}" for entry in sorted(os.listdir(lib)) if entry.startswith("libpython")]
    covers += [
        f"lib/{entry}"
        for entry in sorted(os.listdir(lib))
        if re.fullmatch(r"python\d+\.zip", entry)
    ]
    version_dir = f"lib/{runtime.version_dir}"
    site_top = runtime.site_packages.split("/")[2] if runtime.site_packages.count("/") > 1 else ""
    folder = os.path.join(root, version_dir)
    for entry in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if entry != site_top:
            slash = "/" if os.path.isdir(os.path.join(folder, entry)) else ""
            covers.append(f"{version_dir}/{entry}{slash}")
    if inputs.static:
        covers.append(f"bin/{inputs.name}")
    return cpython_notice(runtime, covers, inputs.sysroot, ctx)


def cpython_notice(runtime: PythonRuntime, covers: list[str], sysroot: str, ctx: Context) -> Notice:
    """CPython's entry covering `covers`: the interpreter's LICENSE.txt, and the copyright
    file of the Debian package (of `sysroot`) that ships its libpython or stdlib."""
    component = f"CPython {runtime.interpreter.version}"
    bundled = os.path.join(runtime.stdlib_dir, "LICENSE.txt")
    texts = [bundled] if os.path.isfile(bundled) else []
    origins = [bundled] if texts else []
    # Debian's copyright file also names what its build adds (and the stdlib's parts
    # under other licences); a Debian interpreter ships both.
    shipped = runtime.libpython or os.path.join(runtime.stdlib_dir, "os.py")
    owner = debian_owners([shipped], sysroot, ctx.environ).get(shipped)
    notice = debian_copyright(owner, sysroot) if owner else None
    if notice is not None:
        texts.append(notice)
        origins.append(f"Debian package {owner}")
    origin = ", ".join(origins) or f"{shipped}: no LICENSE.txt beside it, no Debian package"
    made = Notice(component, tuple(covers), tuple(texts), "PSF-2.0", origin)
    return replace(made, kind="cpython", name="CPython", version=runtime.interpreter.version)


def _portable(root: str, inputs: LicenceInputs, found: list[SourceNotice]) -> list[Notice]:
    """The portable runtime's libraries, each covering the modules it is linked into
    (and Tcl/Tk their script libraries)."""
    dynload = f"lib/{inputs.runtime.version_dir}/lib-dynload"
    folder = os.path.join(root, *dynload.split("/"))
    present = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    notices: list[Notice] = []
    for source in found:
        covers = [
            f"{dynload}/{entry}" for entry in present if entry.split(".")[0] in source.modules
        ]
        scripts = {"tcl": "lib/tcl", "tk": "lib/tk"}.get(source.component)
        covers += [f"{path}/" for path in inputs.tcltk if scripts and path.startswith(scripts)]
        if covers:
            notices.append(source_notice(source, covers))
    return notices


def source_notice(source: SourceNotice, covers: list[str]) -> Notice:
    """The entry of a library a portable runtime was built with, covering `covers`."""
    component = f"{source.component} {source.version}"
    notice = Notice(component, tuple(covers), source.texts, source.licence, source.origin)
    return replace(notice, kind="runtime-source", name=source.component, version=source.version)


def _system_files(files: Mapping[str, str], inputs: LicenceInputs, ctx: Context) -> list[Notice]:
    return system_notices(files, inputs.sysroot, ctx)


def system_notices(files: Mapping[str, str], sysroot: str, ctx: Context) -> list[Notice]:
    """One entry per Debian package (of `sysroot`) owning some of `files` ({bundle path:
    the system file or folder copied}), and one without a text per file no package owns."""
    owners = debian_owners(files.values(), sysroot, ctx.environ)
    by_package: dict[str, list[str]] = {}
    notices: list[Notice] = []
    for path, source in sorted(files.items()):
        package = owners.get(source)
        if package is None:
            origin = f"{source}: no Debian package owns it"
            notices.append(Notice(path, (path,), origin=origin))
        else:
            by_package.setdefault(package, []).append(path)
    for package, covers in sorted(by_package.items()):
        notice = debian_copyright(package, sysroot)
        texts = (notice,) if notice else ()
        licence = stated_licences(notice) if notice else ""
        origin = f"Debian package {package}"
        entry = Notice(package, tuple(covers), texts, licence, origin)
        notices.append(replace(entry, kind="deb", name=package))
    return notices


def stated_licences(copyright_file: str) -> str:
    """The licences a machine-readable Debian copyright file names (`License:` fields),
    in order; "" for a free-form one."""
    try:
        with open(copyright_file, encoding="utf-8", errors="replace") as handle:
            names = _DEP5_LICENSE.findall(handle.read())
    except OSError:
        return ""
    return ", ".join(dict.fromkeys(name.strip() for name in names))


def unlicensed(root: str, notices: list[Notice], binary: str) -> list[str]:
    """The ELF files of the tree (the program aside) that no notice covers, or that a
    notice without a licence covers."""
    paths = [os.path.relpath(path, root).replace(os.sep, "/") for path in elf_files_under(root)]
    return uncovered([relative for relative in paths if relative != binary], notices)


def uncovered(paths: list[str], notices: list[Notice]) -> list[str]:
    """The bundle `paths` that no notice covers, or that a notice without a licence covers."""
    missing: list[str] = []
    for relative in paths:
        covering = [notice for notice in notices if covers(notice, relative)]
        if not covering or not all(notice.licensed for notice in covering):
            missing.append(relative)
    return missing


def covers(notice: Notice, relative: str) -> bool:
    """Whether `notice` covers the file `relative` (a bundle path)."""
    return any(
        relative == entry or (entry.endswith("/") and relative.startswith(entry))
        for entry in notice.covers
    )


def write_texts(root: str, notices: list[Notice]) -> None:
    """licenses/COMPONENT/TEXT for each notice's texts, and licenses/README."""
    lines = [_HEADER]
    for notice in notices:
        slug = _SLUG.sub("-", notice.component).strip("-") or "component"
        licence = notice.licence or ("as its text says" if notice.texts else "not found")
        lines += ["", f"[{notice.component}]", f"licence: {licence}"]
        lines += [f"source: {notice.origin}"] if notice.origin else []
        names: set[str] = set()
        for index, text in enumerate(notice.texts):
            name = os.path.basename(text)
            name = f"{index}-{name}" if name in names else name
            names.add(name)
            target = f"{LICENSES_DIR}/{slug}/{name}"
            os.makedirs(os.path.join(root, LICENSES_DIR, slug), exist_ok=True)
            stdlib.copy_file(text, os.path.join(root, *target.split("/")))
            lines.append(f"text: {target}")
        if not notice.licensed:
            lines.append("text: none found")
        lines += [f"file: {path}" for path in notice.covers]
    stdlib.write_text(os.path.join(root, *INDEX.split("/")), "\n".join(lines) + "\n")
