"""Bundle a Windows (PE) program that embeds CPython through python3XY.dll.

NAME/NAME.exe            the program
NAME/NAME.cmd            launcher: PYTHONHOME and PATH set to this folder, arguments and
                         exit code passed through
NAME/python3XY.dll       the interpreter, under the name the program imports
NAME/python3.dll         the stable-ABI forwarder (when the home has it; required for abi3)
NAME/*.dll               the home's other top-level DLLs (vcruntime140.dll, libffi-8.dll)
NAME/python3XY.zip       the zipped stdlib (the embeddable package's layout) and/or
NAME/Lib/                the stdlib as files; Lib/site-packages/ holds the restore hook
                         and the hook that line-buffers the program's output
NAME/DLLs/               compiled stdlib modules (.pyd) and the DLLs they need
NAME/app/                the --app-dir files
NAME/LICENSE.txt         CPython's licence, when the home has one
NAME/licenses/           the licence texts of what it ships, README the index: the app,
                         CPython, the Visual C++ runtime (see pe_notices.py)
NAME/sbom.cdx.json       what it ships as a CycloneDX SBOM, every PE file with its SHA-256

Everything comes from a Windows CPython home: a full installation's folder or the
official "embeddable package" zip, unpacked. Its python3XY._pth is left out: that file
makes CPython ignore PYTHONHOME, and sys.path would then never include Lib\\site-packages.
It is not needed either: NAME.exe also starts without the launcher, because CPython on
Windows takes the folder of the program as its prefix when python3XY.zip (or Lib\\os.py)
is there, and puts the zip, DLLs\\, Lib\\ and Lib\\site-packages on sys.path from it.
The launcher adds what a bare start lacks: it overrides a PYTHONHOME or PYTHONPATH of the
user's environment and turns the user's site-packages off.
Nothing is precompiled: the host's Python is not the Windows one, and the embeddable
package's zip already holds .pyc files.
"""

from __future__ import annotations

import os
import shutil

from packager.binary import ResolveContext
from packager.binary.inspect import inspect_file
from packager.binary.libpython import match_libpython
from packager.binary.model import BinaryFormat, BinaryKind, BinaryReport, LibPython, LinkMode
from packager.bundle.layouts import LaidOut, TreeJob
from packager.bundle.layouts.pe_notices import PeLicenceInputs, PeLicences, write_pe_licences
from packager.bundle.licences import INDEX
from packager.core.context import Context
from packager.core.errors import InterpreterError, UsageError
from packager.core.fsutil import tree_size
from packager.core.templates import read_template
from packager.outputs import StagedTree
from packager.outputs.launchers import RESTORE_MODULE, RESTORE_PTH, cmd_launcher, restore_hook
from packager.outputs.model import BundleManifest, SizeBreakdown
from packager.python.windows_home import HOME_FIX, WindowsHome, find_windows_home

STREAMS_MODULE = "_packager_streams"
STREAMS = f"launchers/{STREAMS_MODULE}.py"
_EXECUTABLE_SUFFIXES = (".exe", ".dll", ".pyd", ".cmd")
# Third-party packages of the home stay out (as on Linux); caches are not shipped.
_SKIPPED_IN_LIB = ("__pycache__", "site-packages")


def lay_out(job: TreeJob, ctx: Context) -> LaidOut:
    """Lay the Windows program of `job` out with the CPython in `--python-home`."""
    report = require_windows_program(job.report, job.binary)
    assert report.libpython is not None  # require_windows_program refuses anything else
    home = _find_home(job, report.libpython)
    python_version = _check_home_dll(home, report)
    name = job.name
    ctx.progress(f"laying out {name}/ from {home.root}")
    root = job.staging.entry(name)
    python_dlls = _build_tree(
        root, name, job.binary, report, home, job.request.content.app_dir, job.request.export_env
    )
    licences = write_pe_licences(root, _licence_inputs(job, home, python_version), ctx)
    sizes = _measure(root, name, python_dlls, home)
    notes = _notes(name, report.libpython.name, home) + licences.notes
    manifest = _manifest(job, report, home, python_version, sizes, notes, licences)
    staged = StagedTree(
        root=root,
        name=name,
        launcher=f"{name}.cmd",
        arch=report.arch,
        python_version=python_version,
        version=job.meta.version,
        meta=job.meta,
    )
    return LaidOut(staged, manifest)


def _licence_inputs(job: TreeJob, home: WindowsHome, python_version: str) -> PeLicenceInputs:
    """What licenses/ and the SBOM of `job`'s tree are made from besides the tree."""
    return PeLicenceInputs(
        job.name,
        python_version,
        home.license,
        app_licence=job.meta.license,
        package_dir=job.package_dir,
        app_version=job.meta.version,
        strict=job.request.content.strict_licenses,
    )


def _find_home(job: TreeJob, libpython: LibPython) -> WindowsHome:
    """The Windows CPython of `--python-home`; refuse a job that names none."""
    python_home = job.request.content.python_home
    if python_home is None:
        raise UsageError(
            f"bundling a Windows program needs a Windows CPython to take "
            f"{libpython.name} and the standard library from",
            path=job.binary,
            fix=HOME_FIX,
        )
    return find_windows_home(python_home, libpython.name, libpython.abi3)


def _notes(name: str, dll_name: str, home: WindowsHome) -> tuple[str, ...]:
    """The manifest's notes on how the program starts and what of the home was left out."""
    notes = [
        f"{name}.exe finds {dll_name} and the stdlib beside it, so it starts "
        f"without {name}.cmd; the launcher also shields it from a PYTHONHOME or PYTHONPATH "
        "set for another Python"
    ]
    if home.pth_file is not None:
        notes.append(
            f"{os.path.basename(home.pth_file)} was left out: it would make CPython ignore "
            "PYTHONHOME and Lib\\site-packages"
        )
    return tuple(notes)


def _manifest(
    job: TreeJob,
    report: BinaryReport,
    home: WindowsHome,
    python_version: str,
    sizes: SizeBreakdown,
    notes: tuple[str, ...],
    licences: PeLicences,
) -> BundleManifest:
    """The manifest of the tree laid out for `job` from `home`."""
    return BundleManifest(
        name=job.name,
        source_binary=job.binary,
        binary_format=report.format,
        link_mode=report.link_mode,
        python_version=python_version,
        interpreter=home.root,  # the Windows CPython the DLL and stdlib came from
        launcher=f"{job.name}.cmd",
        binary=f"{job.name}.exe",
        rpath_patched=False,
        export_env=job.request.export_env,
        zip_stdlib=home.stdlib_zip is not None and home.lib_dir is None,
        stripped=False,  # PE files ship as linked: strip them at link time (-s, /DEBUG:NONE)
        trimmed=(),
        kept=(),
        requirements=(),
        deb_depends=(),
        sizes=sizes,
        outputs=(),
        notes=notes,
        licenses=INDEX,
        unlicensed=licences.unlicensed,
    )


def require_windows_program(report: BinaryReport, path: str) -> BinaryReport:
    """`report`, if it is of a PE program that imports a python DLL; refuse anything else."""
    if report.format is not BinaryFormat.PE:
        raise UsageError(
            f"expected a Windows (PE) program, found {report.format.value.upper()}",
            path=path,
            fix="bundle it with `packager bundle` (the format is detected from the file)",
        )
    if report.link_mode is LinkMode.STATIC:
        raise UsageError(
            "this program contains the interpreter itself; compiled stdlib modules (.pyd) "
            "import python3XY.dll, so such a bundle could not load them",
            path=path,
            fix="build the program against python3XY.dll (PyO3's default on Windows)",
        )
    if report.kind is not BinaryKind.EXECUTABLE:
        raise UsageError(
            f"this is a {report.kind.value.replace('-', ' ')}, not a program (.exe)",
            path=path,
            fix="bundle the .exe that embeds Python",
        )
    if report.libpython is None:
        raise UsageError(
            "this program imports no python DLL (python3XY.dll or python3.dll)",
            path=path,
            fix="bundle the program that embeds Python (check it with `packager inspect`)",
        )
    return report


def _check_home_dll(home: WindowsHome, report: BinaryReport) -> str:
    """The home DLL's Python version, after checking it suits the program's machine."""
    dll_report = inspect_file(home.python_dll, ResolveContext())[0]
    if dll_report.arch != report.arch:
        raise InterpreterError(
            f"{os.path.basename(home.python_dll)} is built for {dll_report.arch}, "
            f"the program for {report.arch}",
            path=home.python_dll,
            fix=f"pass the {report.arch} build of CPython with --python-home",
        )
    matched = match_libpython(os.path.basename(home.python_dll), BinaryFormat.PE)
    short = matched[0] if matched else None
    return dll_report.python_version or short or "unknown"


def _build_tree(
    root: str,
    name: str,
    binary_path: str,
    report: BinaryReport,
    home: WindowsHome,
    app_dir: str | None,
    export_env: bool,
) -> list[str]:
    """Lay the tree out at `root` (which must not exist yet); the names of the python
    DLLs it holds."""
    assert report.libpython is not None
    os.makedirs(os.path.join(root, "DLLs"))
    _copy(binary_path, os.path.join(root, f"{name}.exe"))
    # Under the name the program imports, as the ELF layout does with the soname.
    python_dll_name = (
        os.path.basename(home.python_dll) if report.libpython.abi3 else report.libpython.name
    )
    _copy(home.python_dll, os.path.join(root, python_dll_name))
    python_dlls = [python_dll_name]
    if home.abi3_dll is not None:
        abi3_name = report.libpython.name if report.libpython.abi3 else "python3.dll"
        _copy(home.abi3_dll, os.path.join(root, abi3_name))
        python_dlls.append(abi3_name)
    for source in [*home.root_dlls, *([home.license] if home.license else [])]:
        _copy(source, os.path.join(root, os.path.basename(source)))
    for source in home.extension_files:
        _copy(source, os.path.join(root, "DLLs", os.path.basename(source)))
    if home.stdlib_zip is not None:
        _copy(home.stdlib_zip, os.path.join(root, os.path.basename(home.stdlib_zip)))
    if home.lib_dir is not None:
        shutil.copytree(
            home.lib_dir,
            os.path.join(root, "Lib"),
            ignore=shutil.ignore_patterns(*_SKIPPED_IN_LIB),
            copy_function=_copy,
        )
    site_packages = os.path.join(root, "Lib", "site-packages")
    os.makedirs(site_packages, exist_ok=True)
    module_source, pth_line = restore_hook()
    _write_text(os.path.join(site_packages, f"{RESTORE_MODULE}.py"), module_source)
    _write_text(os.path.join(site_packages, RESTORE_PTH), pth_line)
    # The program's own output, line by line: nothing flushes it when the program exits.
    _write_text(os.path.join(site_packages, f"{STREAMS_MODULE}.py"), read_template(STREAMS))
    _write_text(os.path.join(site_packages, f"{STREAMS_MODULE}.pth"), f"import {STREAMS_MODULE}\n")
    if app_dir is not None:
        if not os.path.isdir(app_dir):
            raise UsageError("--app-dir is not a directory", path=app_dir)
        # Symlinks are followed: the bundle must not point outside itself.
        shutil.copytree(app_dir, os.path.join(root, "app"), symlinks=False, copy_function=_copy)
    _write_text(
        os.path.join(root, f"{name}.cmd"),
        cmd_launcher(name, f"{name}.exe", ".", export_env=export_env),
    )
    return python_dlls


def _measure(root: str, name: str, python_dlls: list[str], home: WindowsHome) -> SizeBreakdown:
    binary = os.path.getsize(os.path.join(root, f"{name}.exe"))
    libpython = sum(os.path.getsize(os.path.join(root, dll)) for dll in python_dlls)
    site = tree_size(os.path.join(root, "Lib", "site-packages"))
    zipped = home.stdlib_zip
    stdlib = (
        tree_size(os.path.join(root, "Lib"))
        - site
        + tree_size(os.path.join(root, "DLLs"))
        + (os.path.getsize(os.path.join(root, os.path.basename(zipped))) if zipped else 0)
    )
    app = tree_size(os.path.join(root, "app"))
    other = tree_size(root) - binary - libpython - stdlib - site - app
    return SizeBreakdown(binary, libpython, stdlib, site, app, other)


def _copy(source: str, target: str) -> str:
    """Copy bytes; the mode comes from the name, so every host writes the same archive."""
    shutil.copyfile(source, target)
    os.chmod(target, 0o755 if target.lower().endswith(_EXECUTABLE_SUFFIXES) else 0o644)
    return target


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(path, 0o755 if path.lower().endswith(_EXECUTABLE_SUFFIXES) else 0o644)
