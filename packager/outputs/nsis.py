"""An NSIS installer (NAME-VERSION-setup.exe) of a Windows bundle, built with makensis.

Like the .msi, it installs for the current user with no administrator rights, into
%LOCALAPPDATA%\\Programs\\DISPLAY NAME, with a Start-menu shortcut; `/S` makes it silent.
It registers an uninstaller under HKCU's Uninstall key, named by the upgrade code, so
Add/Remove Programs lists it once whatever the version. Installing over an installed
version first runs that version's uninstaller, so files the new one lacks go too.
Before installing, a page shows the bundle's licence index (licenses/README).
The uninstaller deletes the files the installer wrote, by name (never a folder with
whatever else is in it: the folder can be chosen with /D=), the .pyc files CPython wrote
beside the bundle's .py files, then each folder if it is empty, the shortcut and the key.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core import runner
from packager.core.errors import UsageError
from packager.crate.appmeta import AppMetadata
from packager.outputs.pkgroot import LICENCE_INDEX
from packager.outputs.windows import (
    InstallerJob,
    check_windows_name,
    install_folder,
    shortcut_program,
    windows_platform,
    write_icon,
)

ICON_NAME = "app.ico"  # written into the install folder when the app has an icon
UNINSTALLER = "uninstall.exe"
_SOURCES = "files"  # the work folder's links to the tree's files
_BUILT = "setup.exe"  # what makensis writes in the work folder, moved to the output
_PREPROCESSOR = re.compile(r"\$[{%]")  # what makensis expands at compile time, `$$` or not
_MAKENSIS_FIX = "install NSIS (Debian: apt-get install nsis)"


@dataclass(frozen=True)
class SetupPlan:
    """What the installer installs, and where it is written."""

    root: str  # the laid-out tree
    program: str  # what the shortcut starts, relative to root
    meta: AppMetadata
    icon: str | None  # the .ico file to install beside the program
    out_path: str  # the setup.exe makensis writes
    target: str  # NSIS's stub: amd64-unicode for an x86_64 program, x86-unicode for i386
    # Where makensis reads each file of the tree (by its path in the tree): makensis
    # expands $%VAR% and ${DEFINE} in the paths it reads at compile time and has no
    # escape there, so write_setup links each file to a name of digits first.
    sources: Mapping[str, str]


def setup_file_name(name: str, version: str, arch: str) -> str:
    """NAME-VERSION-setup.exe; a UsageError for a machine it cannot be built for."""
    windows_platform(arch)
    return f"{name}-{version}-setup.exe"


def uninstall_key(meta: AppMetadata) -> str:
    """The HKCU key Add/Remove Programs reads: one per app, whatever its version."""
    return f"Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{{{meta.upgrade_code}}}"


def nsis_script(plan: SetupPlan) -> str:
    """The NSIS script for `plan`, as makensis reads it (UTF-8)."""
    meta = plan.meta
    install_dir = _expr(f"$LOCALAPPDATA\\Programs\\{_escape(install_folder(meta))}")
    icons = [f"{kind} {_literal(plan.icon)}" for kind in ("Icon", "UninstallIcon") if plan.icon]
    lines = [
        f"Target {plan.target}",
        "SetCompressor /SOLID lzma",
        "RequestExecutionLevel user",
        f"Name {_literal(meta.display_name)}",
        f"OutFile {_literal(plan.out_path)}",
        f"InstallDir {install_dir}",
        "ShowInstDetails nevershow",
        *icons,
        *_licence_page(plan),
        "Page instfiles",
        "UninstPage instfiles",
        "",
        "Section",
        *_install_lines(plan),
        "SectionEnd",
        "",
        "Section Uninstall",
        *_uninstall_lines(plan),
        "SectionEnd",
    ]
    return "\n".join(lines) + "\n"


def _licence_page(plan: SetupPlan) -> list[str]:
    """A page showing the bundle's licence index (licenses/README: what it ships, under
    which licence, where the texts are) before the install, with a Next button: notices,
    not terms to agree to. None for a tree without one; a silent install (/S) shows none."""
    index = plan.sources.get(LICENCE_INDEX)
    if index is None:
        return []
    heading = "The licences of what this app ships; the texts are in its licenses folder."
    return [
        f"LicenseData {_literal(index)}",
        f"LicenseText {_literal(heading)} {_literal('Next >')}",
        "Page license",
    ]


def _install_lines(plan: SetupPlan) -> list[str]:
    """Remove an installed version, copy the tree, write the uninstaller, shortcut and key."""
    key = _literal(uninstall_key(plan.meta))
    target = _expr(f"$INSTDIR\\{_windows(plan.program)}")
    icon = _expr(f"$INSTDIR\\{ICON_NAME}") if plan.icon else target
    lines = [
        # An installed version is removed first, by its own uninstaller, run in place.
        f"  ReadRegStr $0 HKCU {key} InstallLocation",
        '  StrCmp $0 "" fresh',
        f'  IfFileExists "$0\\{UNINSTALLER}" 0 fresh',
        f"  ExecWait '\"$0\\{UNINSTALLER}\" /S _?=$0'",
        f'  Delete "$0\\{UNINSTALLER}"',
        '  RMDir "$0"',
        "  fresh:",
    ]
    folders, files = _tree(plan.root)
    lines += [f"  CreateDirectory {_expr(_in_install(folder))}" for folder in folders]
    current = None
    for path in files:
        folder, name = os.path.split(path)
        if folder != current:
            lines.append(f"  SetOutPath {_expr(_in_install(folder))}")
            current = folder
        source = _literal(plan.sources[path])
        lines.append(f"  File {_literal('/oname=' + name)} {source}")
    lines.append('  SetOutPath "$INSTDIR"')
    if plan.icon is not None:
        lines.append(f"  File {_literal('/oname=' + ICON_NAME)} {_literal(plan.icon)}")
    return [
        *lines,
        f'  WriteUninstaller "$INSTDIR\\{UNINSTALLER}"',
        f'  CreateShortcut {_shortcut(plan.meta)} {target} "" {icon}',
        *_registry_lines(key, plan.meta, icon),
    ]


def _uninstall_lines(plan: SetupPlan) -> list[str]:
    """Delete what the installer wrote, by name, and the .pyc files; then empty folders."""
    folders, files = _tree(plan.root)
    return [
        f"  Delete {_shortcut(plan.meta)}",
        *(f"  Delete {_expr(_in_install(path))}" for path in files),
        *(f"  Delete {_expr(_in_install(path))}" for path in _pycache_patterns(files)),
        f'  Delete "$INSTDIR\\{UNINSTALLER}"',
        *([f'  Delete "$INSTDIR\\{ICON_NAME}"'] if plan.icon else []),
        *(f"  RMDir {_expr(_in_install(folder))}" for folder in _removal_order(folders, files)),
        '  RMDir "$INSTDIR"',
        f"  DeleteRegKey HKCU {_literal(uninstall_key(plan.meta))}",
    ]


def _shortcut(meta: AppMetadata) -> str:
    return _expr(f"$SMPROGRAMS\\{_escape(install_folder(meta))}.lnk")


def write_setup(
    job: InstallerJob, environ: Mapping[str, str], echo: runner.Echo | None = None
) -> None:
    """Write the NSIS installer of `job`'s tree, with its scratch directory for the script."""
    makensis = runner.require("makensis", environ, fix=_MAKENSIS_FIX)
    check_setup_metadata(job.meta)
    # Every path makensis reads or writes is relative to the work folder and made of
    # plain characters: it expands `$` forms in them at compile time (see SetupPlan).
    icon = write_icon(job.meta, os.path.join(job.work_dir, ICON_NAME))
    plan = SetupPlan(
        job.root,
        shortcut_program(job.name, job.meta),
        job.meta,
        ICON_NAME if icon else None,
        _BUILT,
        "amd64-unicode" if windows_platform(job.arch) == "x64" else "x86-unicode",
        _link_sources(job.root, os.path.join(job.work_dir, _SOURCES)),
    )
    script = os.path.join(job.work_dir, "setup.nsi")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(nsis_script(plan))
    runner.run(
        [makensis, "-V2", "-INPUTCHARSET", "UTF8", "setup.nsi"],
        environ=environ,
        cwd=job.work_dir,
        echo=echo,
    )
    os.replace(os.path.join(job.work_dir, _BUILT), job.out_path)


def check_setup_text(text: str, what: str, *, fix: str, path: str | None = None) -> None:
    """Refuse text with `${` or `$%`: makensis's preprocessor expands them in every
    string, even after `$$` (`$%NAME%` is the build machine's environment), and has no
    escape for them. Any other `$` is kept."""
    found = _PREPROCESSOR.search(text)
    if found is not None:
        raise UsageError(
            f"{what} holds {found.group()!r}, which makensis's preprocessor would expand "
            "(`$%NAME%` becomes the build machine's variable)",
            path=path,
            fix=fix,
        )


def check_setup_metadata(meta: AppMetadata) -> None:
    """Refuse metadata the installer's strings cannot carry as it is."""
    for label, value in (
        ("display name", meta.display_name),
        ("publisher", meta.publisher),
        ("homepage", meta.homepage),
        ("version", meta.version),
    ):
        if value is not None:
            check_setup_text(value, f"the {label} {value!r}", fix=f"give a {label} without it")


def _link_sources(root: str, into: str) -> dict[str, str]:
    """Hard-link (or copy) each file of the tree at `root` into `into` under a number;
    {path in the tree: the linked file, relative to the work folder}. A name Windows or
    makensis cannot hold is refused first."""
    os.makedirs(into)
    folders, files = _tree(root)
    for path in (*folders, *files):
        check_windows_name(os.path.basename(path), os.path.join(root, path))
        check_setup_text(
            os.path.basename(path), "the file name", fix="rename the file",
            path=os.path.join(root, path),
        )  # fmt: skip
    sources: dict[str, str] = {}
    for index, path in enumerate(files):
        linked = os.path.join(into, str(index))
        try:
            os.link(os.path.join(root, path), linked)
        except OSError:
            shutil.copyfile(os.path.join(root, path), linked)
        sources[path] = f"{os.path.basename(into)}/{index}"
    return sources


def _registry_lines(key: str, meta: AppMetadata, icon: str) -> list[str]:
    values = {
        "DisplayName": _literal(meta.display_name),
        "DisplayVersion": _literal(meta.version),
        "Publisher": _literal(meta.publisher),
        "InstallLocation": '"$INSTDIR"',
        "DisplayIcon": icon,
        "UninstallString": f'"$\\"$INSTDIR\\{UNINSTALLER}$\\""',
        "QuietUninstallString": f'"$\\"$INSTDIR\\{UNINSTALLER}$\\" /S"',
    }
    if meta.homepage is not None:
        values["URLInfoAbout"] = _literal(meta.homepage)
    lines = [f"  WriteRegStr HKCU {key} {name} {value}" for name, value in values.items()]
    return [*lines, *(f"  WriteRegDWORD HKCU {key} {flag} 1" for flag in ("NoModify", "NoRepair"))]


def _tree(root: str) -> tuple[list[str], list[str]]:
    """(folders, files) under `root`, as sorted relative paths with '/'."""
    folders: list[str] = []
    files: list[str] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories.sort()
        relative = os.path.relpath(directory, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        folders += [prefix + sub for sub in subdirectories]
        files += [prefix + name for name in sorted(names)]
    return sorted(folders), sorted(files)


def _pycache_patterns(files: list[str]) -> list[str]:
    """The .pyc files CPython may write beside the bundle's .py files, as wildcards."""
    folders = sorted({os.path.dirname(path) for path in files if path.endswith(".py")})
    return [os.path.join(folder, "__pycache__", "*.pyc") for folder in folders]


def _removal_order(folders: list[str], files: list[str]) -> list[str]:
    """Every folder to remove (the bundle's and __pycache__ ones), deepest first."""
    caches = [os.path.dirname(pattern) for pattern in _pycache_patterns(files)]
    every = set(folders) | set(caches)
    return sorted(every, key=lambda folder: (-folder.count("/"), folder))


def _in_install(path: str) -> str:
    """The NSIS expression of a bundle path (with '/') inside the install folder."""
    return "$INSTDIR" + ("\\" + _windows(path) if path else "")


def _windows(path: str) -> str:
    """A bundle path (with '/'), escaped, with Windows separators."""
    return _escape(path).replace("/", "\\")


def _escape(text: str) -> str:
    """`text` as NSIS reads it literally inside a double-quoted string."""
    return text.replace("$", "$$").replace('"', '$\\"')


def _literal(text: str) -> str:
    """A double-quoted NSIS string that means exactly `text`."""
    return f'"{_escape(text)}"'


def _expr(text: str) -> str:
    """A double-quoted NSIS string of `text`, whose variables ($INSTDIR…) are expanded:
    any name from outside must already be escaped (see _windows)."""
    return f'"{text}"'
