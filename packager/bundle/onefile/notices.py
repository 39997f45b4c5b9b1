"""`licenses/` and `sbom.cdx.json` inside a onefile program, and PROGRAM.cdx.json beside it.

The program carries, as archive members (hashed and checked like the modules), the same
`licenses/` folder (texts and README index) and CycloneDX document a Linux folder bundle
carries (licences.py, sbom.py); the paths they name are archive members, and NAME is the
program itself:

- the app: NAME, the boot module and app/; the crate's `license-file`, else its licence
  expression;
- CPython: NAME (the interpreter is linked into it) and every stdlib member, named by
  its top-level entry (`encodings/`, `lib-dynload/`, `os.pyc`); the interpreter's
  LICENSE.txt and its Debian package's copyright file;
- a portable runtime's libraries, each covering the lib-dynload modules it is linked
  into (and Tcl/Tk their script members);
- each system library carried under system-libs/ for an extension module: the copyright
  file of the Debian package owning the file copied;
- each distribution of site-packages that has members in the archive;
- each crate of the crate's Cargo.lock from a registry or git: NAME, which it is
  compiled into; its licence files and stated licence from cargo's unpacked source.

The SBOM's subject is the app (the program); its files are every ELF member with its
SHA-256, and every member a component names on its own. A carried shared library no
entry with a text covers is named in a note, or refused with `--strict-licenses`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packager.binary.elf_head import is_elf
from packager.binary.sbom import SBOM_NAME
from packager.bundle import stdlib
from packager.bundle.licences import (
    LICENSES_DIR,
    Notice,
    app_notice,
    covers,
    cpython_notice,
    crate_notices,
    distribution_notices,
    portable_runtime,
    refuse_or_note,
    source_notice,
    system_notices,
    uncovered,
    write_texts,
)
from packager.bundle.onefile.archive import APP_DIR, BOOT_MODULE, DYNLOAD_DIR, SITE_DIR
from packager.bundle.onefile.extensions import SYSTEM_LIBRARIES, ExtensionPlan, Placement
from packager.bundle.sbom import SbomFacts, dump, sbom_document
from packager.bundle.tcltk import ONEFILE_DIR
from packager.core.context import Context
from packager.python.portable.licences import SourceNotice, runtime_notices
from packager.python.runtime import PythonRuntime

# Members that are not the stdlib's: the top-level folders of the other parts.
_NOT_STDLIB = (f"{SITE_DIR}/", f"{APP_DIR}/", f"{SYSTEM_LIBRARIES}/", f"{ONEFILE_DIR}/")


@dataclass(frozen=True)
class NoticeInputs:
    """What a onefile program's licences and SBOM are gathered from besides its members."""

    name: str  # the program's file name
    runtime: PythonRuntime
    plans: tuple[ExtensionPlan, ...]
    site_dir: str | None  # the staged site-packages folder (its .dist-info), if any
    sysroot: str = "/"  # where the carried system libraries come from
    app_licence: str | None = None  # the app's licence expression (Cargo.toml)
    app_version: str = ""  # the app's version (Cargo.toml)
    package_dir: str | None = None  # the crate's package folder; None for a built binary
    deb_arch: str = ""  # Debian's name for the program's architecture
    strict: bool = False  # --strict-licenses


@dataclass(frozen=True)
class CarriedNotices:
    """What carry_notices wrote: the members to add, and the SBOM to copy beside it."""

    members: dict[str, str]  # licenses/... and sbom.cdx.json -> the staged file
    sbom: str  # the staged SBOM
    components: int
    unlicensed: tuple[str, ...]  # carried ELF members no licence text covers
    notes: tuple[str, ...]


def _followed(path: str) -> str:
    """The file a symlink at `path` leads to; `path` itself when it is not a link."""
    return os.path.realpath(path) if os.path.islink(path) else path


def carry_notices(
    members: Mapping[str, str], inputs: NoticeInputs, staging: str, ctx: Context
) -> CarriedNotices:
    """Write the licence texts, their index and the SBOM of a program carrying `members`
    (archive name -> file) under `staging`; refuse (--strict-licenses) or note the ELF
    members no text covers."""
    ctx.progress("gathering the licence texts of what the program carries")
    notices, notes = _gather(members, inputs, ctx)
    elf_members = sorted(member for member, path in members.items() if is_elf(_followed(path)))
    missing = uncovered(elf_members, notices)
    notes += refuse_or_note(missing, notices, strict=inputs.strict)
    folder = os.path.join(staging, "notices")
    write_texts(folder, notices)
    ctx.progress(f"writing the SBOM ({SBOM_NAME})")
    named = {entry for notice in notices for entry in notice.covers if entry in members}
    files = {member: members[member] for member in sorted({*elf_members, *named})}
    facts = SbomFacts(
        inputs.name, inputs.app_version, inputs.runtime, inputs.sysroot, inputs.deb_arch
    )
    sbom = os.path.join(folder, SBOM_NAME)
    stdlib.write_text(sbom, dump(sbom_document(files, notices, facts, ctx.environ)))
    carried = {SBOM_NAME: sbom}
    for current, _, names in os.walk(os.path.join(folder, LICENSES_DIR)):
        for file_name in names:
            path = os.path.join(current, file_name)
            carried[os.path.relpath(path, folder).replace(os.sep, "/")] = path
    return CarriedNotices(carried, sbom, len(notices), tuple(missing), tuple(notes))


def _gather(
    members: Mapping[str, str], inputs: NoticeInputs, ctx: Context
) -> tuple[list[Notice], list[str]]:
    """Every component's notice, and notes on what could not be looked up."""
    notes: list[str] = []
    app = [inputs.name, f"{BOOT_MODULE}.pyc"]
    if any(member.startswith(f"{APP_DIR}/") for member in members):
        app.append(f"{APP_DIR}/")
    notices = [
        app_notice(inputs.name, app, inputs.app_licence, inputs.package_dir),
        cpython_notice(inputs.runtime, _stdlib_entries(inputs.name, members), inputs.sysroot, ctx),
    ]
    portable = portable_runtime(inputs.runtime)
    if portable is not None:
        found, runtime_notes = runtime_notices(portable, ctx)
        notes += runtime_notes
        notices += _portable(members, found)
    carried = {
        member: source
        for plan in inputs.plans
        if plan.placement is Placement.MEMORY
        for member, source in plan.system_files
    }
    notices += system_notices(carried, inputs.sysroot, ctx)
    if inputs.site_dir is not None:
        notices += [
            notice
            for notice in distribution_notices(inputs.site_dir, SITE_DIR)
            if any(covers(notice, member) for member in members)
        ]
    notices += crate_notices(inputs.package_dir, inputs.name, ctx.environ)
    return notices, notes


def _stdlib_entries(name: str, members: Mapping[str, str]) -> list[str]:
    """The program itself and the top-level entries of the stdlib's members."""
    entries: dict[str, None] = {name: None}
    for member in sorted(members):
        if member.startswith(_NOT_STDLIB) or member == f"{BOOT_MODULE}.pyc":
            continue
        top, slash, _ = member.partition("/")
        entries[f"{top}/" if slash else top] = None
    return list(entries)


def _portable(members: Mapping[str, str], found: Sequence[SourceNotice]) -> list[Notice]:
    """A portable runtime's libraries, each covering the lib-dynload members of the
    modules it is linked into (and Tcl/Tk their script members)."""
    notices: list[Notice] = []
    dynload = sorted(member for member in members if member.startswith(f"{DYNLOAD_DIR}/"))
    scripts = sorted(
        {f"{'/'.join(m.split('/')[:2])}/" for m in members if m.startswith(f"{ONEFILE_DIR}/")}
    )
    for source in found:
        covered = [m for m in dynload if m.split("/")[-1].split(".")[0] in source.modules]
        if source.component in ("tcl", "tk"):
            covered += [f for f in scripts if f.startswith(f"{ONEFILE_DIR}/{source.component}")]
        if covered:
            notices.append(source_notice(source, covered))
    return notices
