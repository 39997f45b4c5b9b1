"""`licenses/` and `sbom.cdx.json` in a Windows bundle, as licences.py and sbom.py write
them for a Linux one, from these components:

- the app (NAME.exe, NAME.cmd, app/): the crate's `license-file`, else its licence
  expression (`--license`, or `license` in Cargo.toml);
- CPython (python3XY.dll, python3.dll, python3XY.zip, Lib/ but site-packages, DLLs/, and
  the home's other DLLs: libffi, libcrypto/libssl, sqlite3...): the home's LICENSE.txt.
  The Windows build's file also holds the texts of libraries built into its DLLs and
  .pyd files (in 3.11.9: bzip2, libffi, OpenSSL's Apache-2.0, Tcl/Tk; not expat, zlib
  or mpdecimal, whose notices CPython keeps in its documentation);
- the Microsoft Visual C++ runtime (vcruntime140.dll, vcruntime140_1.dll, msvcp140.dll):
  Microsoft's terms for redistributing it come with Visual Studio, and no CPython home
  holds them. CPython's LICENSE.txt only sets conditions on passing them on ("Additional
  Conditions for this Windows binary build"), so these files are listed without a text:
  a note, or refused with `--strict-licenses`, as any file without a licence text is;
- each crate of the crate's Cargo.lock from a registry or git (NAME.exe): its licence
  files and stated licence from cargo's unpacked source (licences.py).

Lib/site-packages holds packager's start-up hooks only (the layout installs no third-party
package), so no distribution has an entry. The SBOM lists every PE file of the tree,
found by its MZ magic, and every file a component names on its own (the launcher,
python3XY.zip), each with its SHA-256.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from packager.binary.pe_head import pe_files_under
from packager.bundle.licences import (
    LICENSES_DIR,
    Notice,
    app_notice,
    crate_notices,
    refuse_or_note,
    uncovered,
    write_texts,
)
from packager.bundle.sbom import SbomFacts, write_sbom
from packager.core.context import Context

# Microsoft's C/C++ runtime DLLs, which CPython's installer and embeddable package carry.
_MSVC_RUNTIME = re.compile(r"(vcruntime|msvcp|concrt|vccorlib|vcomp)1\d\d(_\w+)?\.dll", re.I)
_MSVC = "Microsoft Visual C++ Runtime"
_MSVC_ORIGIN = (
    "Microsoft's redistribution terms (Visual Studio's Distributable Code) are not in the "
    "CPython home; its LICENSE.txt sets conditions on passing these files on but is not "
    "their licence"
)
_SITE_PACKAGES = "site-packages"


@dataclass(frozen=True)
class PeLicenceInputs:
    """What the licences and SBOM of a Windows tree are made from besides the tree."""

    name: str  # the bundle's name: NAME.exe and NAME.cmd
    python_version: str  # the home's CPython, as its DLL says ("3.11.9")
    home_licence: str | None  # the home's LICENSE.txt; None when it has none
    app_licence: str | None = None  # the app's licence expression (--license, Cargo.toml)
    package_dir: str | None = None  # the crate's package folder; None for a built binary
    app_version: str = ""  # the app's version, for the SBOM
    strict: bool = False  # --strict-licenses


@dataclass(frozen=True)
class PeLicences:
    """What write_pe_licences found: notes for the summary, files without a licence."""

    notes: tuple[str, ...]
    unlicensed: tuple[str, ...]  # shipped PE files (the program aside) without a text


def write_pe_licences(root: str, inputs: PeLicenceInputs, ctx: Context) -> PeLicences:
    """Write licenses/ and sbom.cdx.json into the Windows tree `root`, after refusing
    (--strict-licenses) or noting the PE files no licence text covers."""
    ctx.progress("gathering the licence texts of what the bundle ships")
    notices = pe_notices(root, inputs, ctx.environ)
    shipped = pe_files_under(root)
    program = f"{inputs.name}.exe"
    relative = [os.path.relpath(path, root).replace(os.sep, "/") for path in shipped]
    missing = uncovered([path for path in relative if path != program], notices)
    notes = refuse_or_note(missing, notices, strict=inputs.strict)
    # write_texts makes licenses/ for a text; a home without LICENSE.txt may have none.
    os.makedirs(os.path.join(root, LICENSES_DIR), exist_ok=True)
    write_texts(root, notices)
    ctx.progress("writing the SBOM (sbom.cdx.json)")
    facts = SbomFacts(inputs.name, inputs.app_version, None)
    write_sbom(root, notices, facts, ctx.environ, shipped=shipped)
    return PeLicences(tuple(notes), tuple(missing))


def pe_notices(root: str, inputs: PeLicenceInputs, environ: Mapping[str, str]) -> list[Notice]:
    """The app's, CPython's, (when shipped) the Visual C++ runtime's and the crates'
    entries."""
    covers = [f"{inputs.name}.exe", f"{inputs.name}.cmd"]
    if os.path.isdir(os.path.join(root, "app")):
        covers.append("app/")
    notices = [
        app_notice(inputs.name, covers, inputs.app_licence, inputs.package_dir),
        _cpython(root, inputs),
    ]
    runtime = [path for path in _top_and_dlls(root) if _MSVC_RUNTIME.fullmatch(_base(path))]
    if runtime:
        made = Notice(_MSVC, tuple(runtime), origin=_MSVC_ORIGIN)
        notices.append(replace(made, kind="msvc", name=_MSVC))
    return notices + crate_notices(inputs.package_dir, f"{inputs.name}.exe", environ)


def _cpython(root: str, inputs: PeLicenceInputs) -> Notice:
    """CPython's entry: the home's files but the Visual C++ runtime, with its LICENSE.txt."""
    covers = [
        path
        for path in _top_and_dlls(root)
        if path.lower().endswith((".dll", ".pyd", ".zip"))
        and not _MSVC_RUNTIME.fullmatch(_base(path))
    ]
    lib = os.path.join(root, "Lib")
    for entry in sorted(os.listdir(lib)) if os.path.isdir(lib) else []:
        if entry != _SITE_PACKAGES:
            slash = "/" if os.path.isdir(os.path.join(lib, entry)) else ""
            covers.append(f"Lib/{entry}{slash}")
    texts = (inputs.home_licence,) if inputs.home_licence else ()
    origin = inputs.home_licence or "the CPython home has no LICENSE.txt"
    version = inputs.python_version
    made = Notice(f"CPython {version}", tuple(covers), texts, "PSF-2.0", origin)
    return replace(made, kind="cpython", name="CPython", version=version)


def _top_and_dlls(root: str) -> list[str]:
    """The files at the top of the tree and in DLLs/, as bundle paths, sorted."""
    found: list[str] = []
    for folder, prefix in ((root, ""), (os.path.join(root, "DLLs"), "DLLs/")):
        if os.path.isdir(folder):
            found += [
                f"{prefix}{entry}"
                for entry in sorted(os.listdir(folder))
                if os.path.isfile(os.path.join(folder, entry))
            ]
    return found


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]
