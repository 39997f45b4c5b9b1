"""Verify a Windows installer under wine: install it, run what its shortcut starts, remove it.

In a fresh prefix where no Python is installed (packager.verify.wine.fresh_prefix), an
.msi is installed silently by wine's msiexec (`/i … /qn`), a NAME-VERSION-setup.exe by
itself (`/S`); the shortcut it put into the user's Start menu is read (the .lnk file itself, as
Explorer would) and its target run with the arguments; then the app is removed
(`msiexec /x … /qn`, or the uninstall.exe beside the program with `/S`), after which
neither the shortcut nor the install folder may remain. A failed install or uninstall,
or anything left behind, fails the result even when the program succeeded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from packager.binary.shell_link import shell_link_target
from packager.core import runner
from packager.verify.model import Outcome, VerifyResult
from packager.verify.watch import run_watched
from packager.verify.wine import WINE_AREA, WinePrefix, fresh_prefix

_AREA_DIR = "packager verify"  # WINE_AREA, under drive_c
_START_MENU = ("AppData", "Roaming", "Microsoft", "Windows", "Start Menu", "Programs")


def installer_kind(subject: str) -> str | None:
    """ "msi" or "setup" when `subject` is a Windows installer packager writes; else None."""
    if not os.path.isfile(subject):
        return None
    if subject.lower().endswith(".msi"):
        return "msi"
    if subject.lower().endswith("-setup.exe"):
        with open(subject, "rb") as handle:
            return "setup" if handle.read(2) == b"MZ" else None
    return None


def verify_installer(
    subject: str,
    args: Sequence[str] = (),
    *,
    environ: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300,
    echo: runner.Echo | None = None,
    stdin: bytes | None = None,
) -> VerifyResult:
    """Install `subject` (an .msi or a setup.exe) in a fresh prefix, run its shortcut's
    target (`stdin` its standard input; None: /dev/null), and remove the app again."""
    base = os.path.basename(subject)
    package = f"{WINE_AREA}\\{base}"
    msi = installer_kind(subject) == "msi"
    install = ["msiexec", "/i", package, "/qn"] if msi else [package, "/S"]
    with fresh_prefix(environ, extra_env=extra_env, echo=echo) as prefix:
        area = os.path.join(prefix.path, "drive_c", _AREA_DIR)
        os.mkdir(area)
        shutil.copyfile(subject, os.path.join(area, base))
        before = _shortcuts(prefix)
        installed = _wine(prefix, install, timeout, echo)
        if installed.returncode != 0:
            return _result(subject, tuple(install), installed, "", prefix.notes)
        added = sorted(set(_shortcuts(prefix)) - set(before))
        if len(added) != 1:
            message = f"the package added {len(added)} shortcuts to the Start menu, not one"
            failed = runner.ToolResult(installed.argv, 1, installed.stdout, message + "\n")
            return _result(subject, tuple(install), failed, "", prefix.notes)
        target = shell_link_target(added[0].read_bytes(), str(added[0]))
        ran = run_watched(
            [prefix.wine, target, *args], environ=prefix.environ, timeout=timeout,
            cwd=os.path.join(prefix.path, "drive_c"), stdin=stdin, echo=echo,
        )  # fmt: skip
        where = target.rsplit("\\", 1)[0]
        uninstall = ["msiexec", "/x", package, "/qn"] if msi else [f"{where}\\uninstall.exe", "/S"]
        removed = _wine(prefix, uninstall, timeout, echo)
        # NSIS's uninstaller copies itself away and runs from there: wait for every program.
        _wine_wait(prefix, timeout, echo)
        folder = _host_path(prefix, where)
        left = [str(p) for p in (folder, added[0]) if p is not None and p.exists()]
        problems = []
        if removed.returncode != 0:
            problems.append(f"{' '.join(uninstall)} failed with exit code {removed.returncode}")
        if left:
            problems.append(f"uninstalling left {', '.join(left)} behind")
    stderr = ran.stderr + "".join(f"{problem}\n" for problem in problems)
    status = (ran.returncode or 1) if problems else ran.returncode
    outcome = runner.ToolResult((target, *args), status, ran.stdout, stderr)
    return _result(subject, outcome.argv, outcome, where, prefix.notes, (ran.outcome, timeout))


def _shortcuts(prefix: WinePrefix) -> list[Path]:
    users = Path(prefix.path, "drive_c", "users")
    return [link for user in users.iterdir() for link in user.joinpath(*_START_MENU).rglob("*.lnk")]


def _host_path(prefix: WinePrefix, windows_path: str) -> Path | None:
    """Where a C:\\ path of the prefix is on this machine; None for another drive."""
    if windows_path[:3].upper() != "C:\\":
        return None
    return Path(prefix.path, "drive_c", *windows_path[3:].split("\\"))


def _wine(
    prefix: WinePrefix, argv: list[str], timeout: float, echo: runner.Echo | None
) -> runner.ToolResult:
    return runner.run(
        [prefix.wine, *argv],
        environ=prefix.environ,
        cwd=os.path.join(prefix.path, "drive_c"),
        check=False,
        timeout=timeout,
        echo=echo,
    )


def _wine_wait(prefix: WinePrefix, timeout: float, echo: runner.Echo | None) -> None:
    server = runner.which("wineserver", prefix.environ)
    if server is not None:
        runner.run([server, "-w"], environ=prefix.environ, check=False, timeout=timeout, echo=echo)


def _result(
    subject: str,
    command: tuple[str, ...],
    result: runner.ToolResult,
    where: str,
    notes: tuple[str, ...],
    ended: tuple[Outcome, float | None] = (Outcome.EXITED, None),
) -> VerifyResult:
    """The result of a step; `ended`: how the program ran (outcome, its timeout)."""
    outcome, timeout = ended
    return VerifyResult(
        subject=subject,
        command=command,
        sandbox_path=where or WINE_AREA,
        hidden=("Z: (the host's file system)",),
        returncode=result.returncode,
        stdout=result.stdout,
        stderr=result.stderr,
        notes=notes,
        outcome=outcome,
        timeout=timeout,
    )
