"""Run a Windows bundle under wine, in a fresh prefix where no Python is installed.

Creating a wine prefix takes a quarter of a minute, so a clean one is made once per wine
version under the cache directory and each run gets its own copy: the DLLs wine puts
into system32 are hard links to the clean prefix's (nothing writes to them), every other
file a real copy. The copy loses its Z: drive, so the program sees none of the host's
files; the bundle sits at "C:\\packager verify\\NAME" (a path with a space in it) and
runs through its NAME.cmd launcher, so quoting and relocation are proven as on Linux.

wine 8 lacks DLLs that Windows 10 has (bcryptprimitives.dll, which Rust's std imports):
the copy's system32 gets a stand-in for each, compiled by packager (packager.verify.
stand_ins), or the one PACKAGER_WINE_SYSTEM_DLLS names (paths separated by os.pathsep).
They are only ever added to the prefix, never to a bundle, and the run says so.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from packager.core import runner
from packager.core.context import cache_root
from packager.core.errors import ToolError, UnreadableInputError
from packager.core.safe_extract import extract_zip
from packager.verify import stand_ins
from packager.verify.contents import check_contents
from packager.verify.model import VerifyResult
from packager.verify.watch import run_watched

WINE_AREA = "C:\\packager verify"
SYSTEM_DLLS_VARIABLE = "PACKAGER_WINE_SYSTEM_DLLS"
_WINE_FIX = "install wine (Debian: apt-get install wine wine64)"
_AREA_DIR = "packager verify"  # under drive_c
# Files wine never rewrites once the prefix exists: safe to share by hard link.
_SHARED_SUFFIXES = (".dll", ".exe", ".drv", ".sys", ".ocx", ".cpl", ".acm", ".ax", ".tlb")
_WINE_ENV = {
    # Loader errors only: a DLL that is missing is named, nothing else is printed.
    "WINEDEBUG": "-all,err+module",
    # No Mono or Gecko: their installers would ask for a download on first start.
    "WINEDLLOVERRIDES": "mscoree,mshtml=",
    # Wine names host files in the locale's character set: a UTF-8 one keeps every name.
    "LANG": "C.UTF-8",
}


def windows_bundle_name(subject: str) -> str | None:
    """NAME when `subject` is a Windows bundle folder (NAME/NAME.cmd) or a zip of one."""
    base = os.path.basename(subject.rstrip("/"))
    if os.path.isdir(subject):
        return base if os.path.isfile(os.path.join(subject, f"{base}.cmd")) else None
    if not base.endswith(".zip") or not zipfile.is_zipfile(subject):
        return None
    with zipfile.ZipFile(subject) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        names = set(archive.namelist())
    if len(tops) != 1:
        return None
    top = next(iter(tops))
    return top if f"{top}/{top}.cmd" in names else None


def verify_windows(
    subject: str,
    name: str,
    args: Sequence[str] = (),
    *,
    environ: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300,
    echo: runner.Echo | None = None,
    stdin: bytes | None = None,
) -> VerifyResult:
    """Put the bundle `name` of `subject` into a fresh prefix and run its launcher, with
    `stdin` as its standard input (None: /dev/null), for at most `timeout` seconds."""
    with fresh_prefix(environ, extra_env=extra_env, echo=echo) as prefix:
        area = os.path.join(prefix.path, "drive_c", _AREA_DIR)
        os.mkdir(area)
        if os.path.isdir(subject):
            shutil.copytree(subject, os.path.join(area, name))
        else:
            extract_zip(subject, area)
        note = check_contents(os.path.join(area, name), subject)
        launcher = f"{WINE_AREA}\\{name}\\{name}.cmd"
        result = run_watched(
            [prefix.wine, launcher, *args],
            environ=prefix.environ,
            cwd=os.path.join(prefix.path, "drive_c"),
            timeout=timeout,
            stdin=stdin,
            echo=echo,
        )
    return VerifyResult(
        subject=subject,
        command=(launcher, *args),
        sandbox_path=WINE_AREA,
        hidden=("Z: (the host's file system)",),
        returncode=result.returncode,
        stdout=result.stdout,
        stderr=result.stderr,
        notes=(*((note,) if note else ()), *prefix.notes),
        outcome=result.outcome,
        timeout=timeout,
    )


@dataclass(frozen=True)
class WinePrefix:
    """A wine prefix of one run, and how to run wine in it."""

    path: str
    wine: str  # the wine program
    environ: Mapping[str, str]  # WINEPREFIX, a HOME of its own, quiet logging
    notes: tuple[str, ...] = ()  # the stand-in DLLs packager put into it


@contextlib.contextmanager
def fresh_prefix(
    environ: Mapping[str, str],
    *,
    extra_env: Mapping[str, str] | None = None,
    echo: runner.Echo | None = None,
) -> Iterator[WinePrefix]:
    """A copy of the clean prefix, without the Z: drive and with the stand-in DLLs.

    Its wineserver is stopped and the copy removed when the block ends.
    """
    wine = runner.require("wine", environ, fix=_WINE_FIX)
    clean = _clean_prefix(wine, environ, cache_root(environ), echo)
    work = tempfile.mkdtemp(prefix="verify-", dir=os.path.dirname(clean))
    try:
        prefix = os.path.join(work, "prefix")
        _copy_prefix(clean, prefix)
        os.remove(os.path.join(prefix, "dosdevices", "z:"))
        notes = _add_system_dlls(prefix, environ, echo)
        home = os.path.join(work, "home")
        os.mkdir(home)
        run_environ = _wine_environ(environ, prefix, home, extra_env)
        try:
            yield WinePrefix(prefix, wine, run_environ, notes)
        finally:
            _stop_server(run_environ)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _wine_environ(
    environ: Mapping[str, str], prefix: str, home: str, extra_env: Mapping[str, str] | None
) -> dict[str, str]:
    return {
        "PATH": environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "WINEPREFIX": prefix,
        **_WINE_ENV,
        **(extra_env or {}),
    }


def _clean_prefix(
    wine: str, environ: Mapping[str, str], cache: str | None, echo: runner.Echo | None
) -> str:
    """The clean prefix of this wine version, made on first use."""
    version = runner.run([wine, "--version"], environ=environ, echo=echo).stdout.strip()
    base = os.path.join(cache or tempfile.gettempdir(), "wine")
    clean = os.path.join(base, "prefix-" + (re.sub(r"[^A-Za-z0-9.+-]+", "_", version) or "x"))
    if os.path.isfile(os.path.join(clean, "system.reg")):
        return clean
    os.makedirs(base, exist_ok=True)
    building = tempfile.mkdtemp(prefix="prefix-new-", dir=base)
    try:
        prefix = os.path.join(building, "prefix")
        home = os.path.join(building, "home")
        os.mkdir(home)
        made_environ = _wine_environ(environ, prefix, home, None)
        try:
            made = runner.run(
                [wine, "cmd", "/c", "exit 0"],
                environ=made_environ,
                check=False,
                timeout=600,
                echo=echo,
            )
        finally:
            _stop_server(made_environ)
        if made.returncode != 0 or not os.path.isfile(os.path.join(prefix, "system.reg")):
            raise ToolError("wine could not create a prefix", output=made.stderr, fix=_WINE_FIX)
        try:
            os.rename(prefix, clean)
        except OSError:
            if not os.path.isfile(os.path.join(clean, "system.reg")):
                raise  # not another run that made it first
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return clean


def _copy_prefix(clean: str, target: str) -> None:
    def copy(source: str, destination: str) -> str:
        if source.lower().endswith(_SHARED_SUFFIXES):
            try:
                os.link(source, destination)
                return destination
            except OSError:
                pass  # another file system: copy instead
        return str(shutil.copy2(source, destination))

    shutil.copytree(clean, target, symlinks=True, copy_function=copy)


def _add_system_dlls(
    prefix: str, environ: Mapping[str, str], echo: runner.Echo | None
) -> tuple[str, ...]:
    """Put the DLLs wine lacks into the prefix's system32: those PACKAGER_WINE_SYSTEM_DLLS
    names, and packager's stand-in for each other one; the notes that say which."""
    system32 = os.path.join(prefix, "drive_c", "windows", "system32")
    given = [path for path in environ.get(SYSTEM_DLLS_VARIABLE, "").split(os.pathsep) if path]
    for path in given:
        if not os.path.isfile(path):
            raise UnreadableInputError(
                f"{SYSTEM_DLLS_VARIABLE} names a DLL that does not exist",
                path=path,
                fix=f"set {SYSTEM_DLLS_VARIABLE} to existing DLL files",
            )
        _put_dll(path, system32)
    needed = stand_ins.missing_from(system32, {os.path.basename(p).lower() for p in given})
    for stand_in in needed:
        _put_dll(stand_ins.compiled(stand_in, environ, cache_root(environ), echo), system32)
    return tuple(stand_ins.note(stand_in) for stand_in in needed)


def _put_dll(path: str, system32: str) -> None:
    destination = os.path.join(system32, os.path.basename(path))
    if os.path.lexists(destination):
        os.remove(destination)  # a hard link to the clean prefix: never write through
    shutil.copyfile(path, destination)


def _stop_server(environ: Mapping[str, str]) -> None:
    """Stop the prefix's wineserver, which outlives its programs for a few seconds."""
    server = runner.which("wineserver", environ)
    if server is not None:
        runner.run([server, "-k"], environ=environ, check=False, timeout=60)
