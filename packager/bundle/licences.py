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
  metadata states;
- each crate of the crate's Cargo.lock from a registry or git, covering bin/NAME it is
  compiled into (NAME.exe in a Windows bundle, the program in a onefile one; the lock
  also names build-time crates, listed as well): the licence files of its source as
  cargo unpacked it under CARGO_HOME, and its Cargo.toml's `license` (crate_sources.py).
  A crate whose source is not there is listed with "text: none found", and one note
  counts the crates without a text.

A text identical to one already written (the same Apache-2.0 file of many crates) is
written once; every entry it belongs to names that one file.

A shipped shared library or extension module that no entry with a text covers is named
in a note, or refused with `--strict-licenses` (the layout then writes nothing); so is a
crate with neither a text nor a stated licence, although the program it is compiled
into is not checked as a file (its entries are the app's and the crates').
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from packager.binary.elf_head import elf_files_under
from packager.bundle import stdlib
from packager.bundle.crate_sources import crate_sources
from packager.bundle.licence_sources import (
    app_licence_file,
    debian_copyright,
    debian_owners,
    distributions,
)
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.core.fsutil import sha256_file
from packager.outputs.pkgroot import LICENCE_INDEX, LICENCES
from packager.python.portable.licences import SourceNotice, runtime_notices
from packager.python.portable.store import Runtime, read_runtime
from packager.python.runtime import PythonRuntime

LICENSES_DIR = LICENCES
INDEX = LICENCE_INDEX
_NAMED_CRATES = 8  # how many crates without a text a note names (the index lists all)
_CARGO_FETCH = (
    "`cargo fetch` unpacks the crates' sources in CARGO_HOME, where their licences are read"
)
_SLUG = re.compile(r"[^A-Za-z0-9._+-]+")
_DEP5_LICENSE = re.compile(r"^License: *(\S.*)$", re.MULTILINE)
_HEADER = """\
Licences of what this bundle ships: the app, the Python runtime and every third-party
library, package and data file it carries. Each entry names a component, its licence,
the licence texts in this folder and the files of the bundle it covers (a path ending
in / covers everything under it). A text several entries share is in this folder once.
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
    kind: str = ""  # app, cpython, runtime-source, deb, pypi, cargo; "" for a file no package owns
    name: str = ""
    version: str = ""
    source: str = ""  # where a crate came from, as Cargo.lock says ("registry+URL", "git+URL")

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
    notes += refuse_or_note(missing, notices, strict=inputs.strict)
    write_texts(root, notices)
    return Licences(len(notices), tuple(missing), tuple(notes), tuple(notices))


def refuse_or_note(missing: list[str], notices: list[Notice], *, strict: bool) -> list[str]:
    """Refuse (--strict-licenses) the shipped files `missing` a licence text and the
    crates of `notices` with neither a text nor a stated licence; else notes naming the
    files and counting the crates without a text ([] when none lacks one)."""
    crates = [notice for notice in notices if notice.kind == "cargo"]
    unknown = [f"crate {notice.component}" for notice in crates if not notice.licensed]
    if (missing or unknown) and strict:
        fixes = ["ship these files' licences"] if missing else []
        fixes += [_CARGO_FETCH] if unknown else []
        raise UsageError(
            "--strict-licenses: no licence found for " + ", ".join([*missing, *unknown]),
            fix=f"{'; '.join(fixes)}; or bundle without --strict-licenses",
        )
    notes: list[str] = []
    if missing:
        notes.append(
            f"no licence text found for {', '.join(missing)}: {INDEX} lists them without one"
        )
    textless = [notice.component for notice in crates if not notice.texts]
    if textless:
        named = ", ".join(textless[:_NAMED_CRATES])
        more = f" and {len(textless) - _NAMED_CRATES} more" if len(textless) > _NAMED_CRATES else ""
        note = f"{len(textless)} of {len(crates)} crates compiled into the program have no "
        note += f"licence text in {LICENSES_DIR}/ ({named}{more})"
        note += f"; {len(unknown)} state no licence either: {_CARGO_FETCH}" if unknown else ""
        notes.append(note)
    return notes


def crate_notices(
    package_dir: str | None, program: str, environ: Mapping[str, str]
) -> list[Notice]:
    """One entry per registry or git crate of the Cargo.lock of `package_dir`, covering
    the `program` (a bundle path) it is compiled into; [] for a built binary."""
    notices: list[Notice] = []
    for found in crate_sources(package_dir, environ):
        crate = found.crate
        unpacked = "its source as cargo unpacked it in CARGO_HOME"
        origin = unpacked if found.folder else "its source is not in CARGO_HOME"
        component = f"{crate.name} {crate.version}"
        made = Notice(component, (program,), found.texts, found.licence, origin, stated=True)
        notices.append(replace(made, kind="cargo", name=crate.name, version=crate.version,
                               source=crate.source))  # fmt: skip
    return notices


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
    notices += crate_notices(inputs.package_dir, f"bin/{inputs.name}", ctx.environ)
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
    """licenses/COMPONENT/TEXT for each notice's texts (a text identical to one written
    already is not written again: the entry names the first copy), and licenses/README."""
    lines = [_HEADER]
    written: dict[str, str] = {}  # SHA-256 of a text -> where it was written
    for notice in notices:
        slug = _SLUG.sub("-", notice.component).strip("-") or "component"
        licence = notice.licence or ("as its text says" if notice.texts else "not found")
        lines += ["", f"[{notice.component}]", f"licence: {licence}"]
        lines += [f"source: {notice.origin}"] if notice.origin else []
        names: set[str] = set()
        for index, text in enumerate(notice.texts):
            # A text that is no file (a dangling link) has no bytes to share; copy_file skips it.
            digest = sha256_file(text) if os.path.isfile(text) else text
            if digest not in written:
                name = os.path.basename(text)
                name = f"{index}-{name}" if name in names else name
                names.add(name)
                written[digest] = f"{LICENSES_DIR}/{slug}/{name}"
                os.makedirs(os.path.join(root, LICENSES_DIR, slug), exist_ok=True)
                stdlib.copy_file(text, os.path.join(root, *written[digest].split("/")))
            lines.append(f"text: {written[digest]}")
        if not notice.licensed:
            lines.append("text: none found")
        lines += [f"file: {path}" for path in notice.covers]
    stdlib.write_text(os.path.join(root, *INDEX.split("/")), "\n".join(lines) + "\n")
