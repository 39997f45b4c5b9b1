"""Run a bundle where no Python is visible: a bubblewrap sandbox over a read-only root.

Hidden: every /usr/lib/python3* directory, /usr/bin/python3* and the system's
libpython3*.so* (each file covered by /dev/null, as tmpfs cannot cover a single file),
/usr/local, /opt, /root and $HOME (pyenv lives there). The bundle is first copied (or
extracted, or installed) to a path with a space in it, so the run also proves the bundle
is relocatable and quotes its paths. HOME and TMPDIR are fresh tmpfs directories. The
program runs in a user namespace of its own with no capabilities, even when packager runs
as root: it can neither remount the system writable nor unmount what hides Python, nor
make a user namespace to regain them. A bundle for another architecture runs under
qemu-user (packager.verify.qemu).
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from packager.core import runner
from packager.core.context import Context
from packager.core.errors import UnreadableInputError, UsageError
from packager.core.safe_extract import extract_tar, extract_zip
from packager.python.debian_root import c_library_root
from packager.targets import PythonSource, linux_target_for
from packager.verify.contents import check_contents
from packager.verify.installers import installer_kind, verify_installer
from packager.verify.model import BY_EXIT_STATUS, Expectation, VerifyResult
from packager.verify.qemu import (
    TARGET_LIBRARIES,
    foreign_machine,
    qemu_prefix,
    target_libraries,
)
from packager.verify.roots import debian_release_of
from packager.verify.unpack import copy_folder, unpack_deb_opt, unpack_rpm_opt, unpack_tar_zst
from packager.verify.watch import (
    control_folder,
    require_sandbox,
    run_watched,
    watched_command,
)
from packager.verify.wine import verify_windows, windows_bundle_name

SANDBOX_AREA = "/tmp/packager verify"
SANDBOX_HOME = "/tmp/home"
_BWRAP_FIX = "install bubblewrap (Debian: apt-get install bubblewrap)"
_HIDDEN_DIRS = ("/usr/local", "/opt", "/root")
_HIDDEN_DIR_GLOBS = ("/usr/lib/python3*", "/usr/lib64/python3*")
_HIDDEN_FILE_GLOBS = (
    "/usr/bin/python3*",
    "/usr/lib/*/libpython3*.so*",
    "/usr/lib/libpython3*.so*",
    "/usr/lib64/libpython3*.so*",
)


def hidden_paths(environ: Mapping[str, str], root: str = "/") -> tuple[list[str], list[str]]:
    """(directories covered by tmpfs, regular files covered by /dev/null) in `root`, as
    paths inside it; the user's HOME only when `root` is this host's own."""

    root = root.rstrip("/")  # "" for this host: root + path is then the path itself

    def inside(pattern: str) -> list[str]:
        return [path[len(root) :] for path in sorted(glob.glob(root + pattern))]

    directories = [path for path in _HIDDEN_DIRS if os.path.isdir(root + path)]
    home = environ.get("HOME")
    if not root and home and os.path.isdir(home) and os.path.realpath(home) not in ("/", "/tmp"):
        directories.append(os.path.realpath(home))
    for pattern in _HIDDEN_DIR_GLOBS:
        directories.extend(path for path in inside(pattern) if os.path.isdir(root + path))
    files: list[str] = []
    for pattern in _HIDDEN_FILE_GLOBS:
        files.extend(
            path
            for path in inside(pattern)
            if os.path.isfile(root + path) and not os.path.islink(root + path)
        )
    return list(dict.fromkeys(directories)), files


def sandbox_argv(
    bwrap: str,
    area: str,
    environ: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    *,
    cwd: str = SANDBOX_HOME,
    binds: Sequence[str] = (),
    root: str = "/",
    libraries: str | None = None,
) -> tuple[list[str], list[str]]:
    """(bwrap arguments up to the command, hidden paths) with `area` at SANDBOX_AREA and
    `root` (this host's, or another userland's directory) as the read-only system.

    The command starts in `cwd`; each of `binds` (host directories) is visible at its own
    path, writable; `libraries` (a foreign target's C library) at TARGET_LIBRARIES.
    """
    directories, files = hidden_paths(environ, root)
    argv = [bwrap, "--ro-bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for directory in directories:
        argv += ["--tmpfs", directory]
    for path in files:
        argv += ["--ro-bind", "/dev/null", path]
    argv += ["--bind", area, SANDBOX_AREA, "--dir", SANDBOX_HOME]
    for directory in binds:
        argv += ["--bind", directory, directory]
    if libraries is not None:
        argv += ["--ro-bind", libraries, TARGET_LIBRARIES]
    # A user namespace and no capabilities, whoever runs it: bwrap run by root would keep
    # every capability, and the program could remount / writable or unmount the covers.
    argv += ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    argv += ["--die-with-parent", "--new-session", "--clearenv"]
    for key, value in (
        ("PATH", "/usr/bin:/bin"),
        ("HOME", SANDBOX_HOME),
        ("TMPDIR", "/tmp"),
        ("LANG", "C.UTF-8"),
        *(extra_env or {}).items(),
    ):
        argv += ["--setenv", key, value]
    argv += ["--chdir", cwd]
    return argv, directories + files


def verify_bundle(
    subject: str,
    args: Sequence[str] = (),
    *,
    environ: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 300,
    echo: runner.Echo | None = None,
    cwd: str | None = None,
    root: str = "/",
    sysroot: str | None = None,
    stdin: bytes | None = None,
    expectation: Expectation = BY_EXIT_STATUS,
) -> VerifyResult:
    """Copy, extract or install `subject` into the sandbox and run it with `args` and
    `stdin` (None: /dev/null) until it exits, meets `expectation` or `timeout` s pass.

    The program sees only PATH, HOME, TMPDIR, LANG and `extra_env`, over the system at
    `root`: this host's by default, or another userland's (a debootstrap root) as it is.
    It starts in `cwd`: a relative path names a folder of the bundle (for a onefile
    program, beside it), an absolute one a directory of this machine, made visible in the
    sandbox at that path; None: a fresh, empty HOME. A Windows bundle runs under wine
    instead (packager.verify.wine), and an .msi or setup.exe is installed, run and
    removed there (packager.verify.installers); one for another Linux architecture
    runs under qemu-user, with the C library of `sysroot` (the root it was built against).
    """
    _check_subject(subject)
    windows_name = windows_bundle_name(subject) if os.path.exists(subject) else None
    if installer_kind(subject) is not None or windows_name is not None:
        require_sandbox(expectation, subject)
    if installer_kind(subject) is not None:
        return verify_installer(
            subject, args, environ=environ, extra_env=extra_env, timeout=timeout, echo=echo,
            stdin=stdin,
        )  # fmt: skip
    if windows_name is not None:
        return verify_windows(
            subject, windows_name, args, environ=environ, extra_env=extra_env,
            timeout=timeout, echo=echo, stdin=stdin,
        )  # fmt: skip
    work = tempfile.mkdtemp(prefix="packager-verify-")
    try:
        control = control_folder(work, expectation)
        sandbox = prepare_sandbox(
            subject, work, environ=environ, extra_env=extra_env, cwd=cwd, root=root,
            echo=echo, sysroot=sysroot, binds=() if control is None else (control,),
        )  # fmt: skip
        command = (*sandbox.command, *args)
        ran = run_watched(
            [*sandbox.before_command, *watched_command(command, expectation, control)],
            environ=launch_environ(environ), timeout=timeout, expectation=expectation,
            control=control, stdin=stdin, echo=echo,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return VerifyResult(
        subject, command, SANDBOX_AREA, sandbox.hidden, ran.returncode, ran.stdout, ran.stderr,
        root=os.path.abspath(root), notes=sandbox.notes, expectation=expectation,
        outcome=ran.outcome, timeout=timeout,
    )  # fmt: skip


def _check_subject(subject: str) -> None:
    """Refuse a FIFO, socket or device before anything reads it (a FIFO would block)."""
    if os.path.exists(subject) and not (os.path.isfile(subject) or os.path.isdir(subject)):
        raise UnreadableInputError(
            "not a file or folder (a FIFO, socket or device is never read)", path=subject
        )


@dataclass(frozen=True)
class Sandbox:
    """A bundle placed in a sandbox's area, and how to run it there."""

    argv: tuple[str, ...]  # bwrap and its arguments, then the command
    command: tuple[str, ...]  # the command inside the sandbox
    hidden: tuple[str, ...]  # paths hidden from the program
    notes: tuple[str, ...] = ()  # how it runs, when that is not plain (qemu, a C library)

    @property
    def before_command(self) -> tuple[str, ...]:
        """`argv` up to the command: what runs a command in the sandbox."""
        return self.argv[: len(self.argv) - len(self.command)]


def launch_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a sandbox is started with: PATH alone. bwrap stays inside as the
    sandbox's process 1, whose /proc/1/environ the program can read: packager's own
    environment (a CI job's tokens and keys) must not be there. The program's comes from
    --setenv (sandbox_argv)."""
    return {"PATH": environ.get("PATH", os.defpath)}


def prepare_sandbox(
    subject: str,
    work: str,
    *,
    environ: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    root: str = "/",
    echo: runner.Echo | None = None,
    binds: Sequence[str] = (),
    sysroot: str | None = None,
) -> Sandbox:
    """Copy, extract or install `subject` under `work` (an empty directory the caller
    removes) and make the command that runs it in the sandbox (see verify_bundle); each of
    `binds` (host paths: a directory, or a socket) is visible at its own path."""
    bwrap = runner.require("bwrap", environ, fix=_BWRAP_FIX)
    if not os.path.exists(subject):
        raise UnreadableInputError("no such file or directory", path=subject)
    if cwd is not None:
        _check_cwd(cwd)
    if not os.path.isfile(os.path.join(root, "bin", "sh")):
        raise UsageError(
            "not the root of a Linux system (no bin/sh in it)",
            path=root,
            fix="pass a directory made by debootstrap, or --distro NAME",
        )
    area = os.path.join(work, "area")
    os.mkdir(area)
    command, top = _prepare(os.path.abspath(subject), area, environ, echo)
    checked = _checked_contents(area, top, subject)
    start, visible = SANDBOX_HOME, list(binds)
    if cwd is not None and os.path.isabs(cwd):
        start, visible = cwd, [*visible, cwd]
    elif cwd is not None and top is None:
        command = _installed_in(command, cwd)  # the folder exists once it has run
    elif cwd is not None and top is not None:
        start = _folder_of_bundle(top, cwd, area, subject)
    emulation = _foreign(area, work, (sysroot, root), subject, environ)
    argv, hidden = sandbox_argv(
        bwrap,
        area,
        environ,
        {**emulation.environ, **(extra_env or {})},
        cwd=start,
        binds=visible,
        root=os.path.abspath(root),
        libraries=emulation.libraries,
    )
    notes = (*checked, *((emulation.note,) if emulation.note else ()))
    return Sandbox((*emulation.wrapper, *argv, *command), tuple(command), tuple(hidden), notes)


@dataclass(frozen=True)
class _Emulation:
    """How a bundle of another architecture runs: under qemu-user, with a C library."""

    wrapper: tuple[str, ...] = ()  # the command the sandbox runs under
    libraries: str | None = None  # the target's C library, copied for the sandbox
    environ: Mapping[str, str] = field(default_factory=dict)  # what qemu reads
    note: str | None = None  # which C library it was


def _foreign(
    area: str,
    work: str,
    roots: tuple[str | None, str],
    subject: str,
    environ: Mapping[str, str],
) -> _Emulation:
    """How the bundle in `area` runs if it is for another architecture (nothing for one
    of this machine). `roots`: the target's root (--sysroot) and the userland the sandbox
    shows; without the first, the C library is Debian's for the userland's release."""
    machine = foreign_machine(area)
    sysroot, root = roots
    if machine is None and sysroot is not None:
        raise UsageError(
            "--sysroot is for a bundle of another architecture, run under qemu-user; this "
            "one is for this machine and runs with the C library of the sandbox's userland",
            path=subject,
            fix="leave out --sysroot (--distro NAME or --root DIR choose the userland)",
        )
    if machine is None:
        return _Emulation()
    target = linux_target_for(machine)
    note = f"ran under qemu-{machine} with the C library of {sysroot}"
    if sysroot is None and target is not None and target.python is PythonSource.TARGET_ROOT:
        release = debian_release_of(root)
        sysroot = c_library_root(target, release, Context(environ))
        note = f"ran under qemu-{machine} with Debian {release}'s {target.machine.deb} C library"
    libraries = target_libraries(sysroot, machine, os.path.join(work, "target"), subject)
    return _Emulation(
        tuple(qemu_prefix(machine, environ)), libraries, {"QEMU_LD_PREFIX": TARGET_LIBRARIES}, note
    )


def _check_cwd(cwd: str) -> None:
    if os.path.isabs(cwd):
        if not os.path.isdir(cwd):
            raise UsageError("--cwd names no directory", path=cwd, fix="pass an existing folder")
        return
    if any(part in ("", ".", "..") for part in cwd.split("/")):
        raise UsageError(
            f"--cwd {cwd!r} must name a folder inside the bundle, or an absolute directory",
            fix="e.g. --cwd app, or --cwd /path/to/data",
        )


def _folder_of_bundle(top: str, cwd: str, area: str, subject: str) -> str:
    """The sandbox path of the bundle's folder `cwd`; `top` is the bundle's, in the sandbox."""
    inside = os.path.join(top, cwd)
    if not os.path.isdir(os.path.join(area, os.path.relpath(inside, SANDBOX_AREA))):
        raise UsageError(
            f"--cwd {cwd} is not a folder of the bundle",
            path=subject,
            fix="name a folder inside it (e.g. app), or an absolute directory",
        )
    return inside


def _checked_contents(area: str, top: str | None, subject: str) -> tuple[str, ...]:
    """Check the bundle folder placed in `area` (`top` in the sandbox) against its SBOM
    (packager.verify.contents); its note. An installer places it only when it runs, and a
    onefile program is no folder: neither is checked here."""
    if top is None or top == SANDBOX_AREA:
        return ()
    note = check_contents(os.path.join(area, os.path.relpath(top, SANDBOX_AREA)), subject)
    return (note,) if note else ()


def _installed_in(command: list[str], cwd: str) -> list[str]:
    """The installer's command, changed to start the program in the installed `cwd`."""
    sh, flag, _, name, installer = command
    script = 'sh "$1" >&2 && cd -- "$2" && shift 2 && exec "$HOME/.local/bin/$0" "$@"'
    return [sh, flag, script, name, installer, f"{SANDBOX_HOME}/.local/opt/{name}/{cwd}"]


def _prepare(
    subject: str, area: str, environ: Mapping[str, str], echo: runner.Echo | None
) -> tuple[list[str], str | None]:
    """Put the bundle under `area`: (the command that runs it inside the sandbox, the
    sandbox path of the folder the bundle is, or None when an installer puts it there)."""
    base = os.path.basename(subject.rstrip("/"))
    if os.path.isdir(subject):
        copy_folder(subject, os.path.join(area, base))
        return _launched(area, os.path.join(area, base), base, subject)
    if base.endswith("-installer.sh"):
        name = base[: -len("-installer.sh")]
        shutil.copy2(subject, os.path.join(area, base))
        script = 'sh "$1" >&2 && shift && exec "$HOME/.local/bin/$0" "$@"'
        return ["sh", "-c", script, name, f"{SANDBOX_AREA}/{base}"], None
    scratch = os.path.dirname(area)
    if base.endswith((".tar.gz", ".tgz")):
        extract_tar(subject, area)
    elif base.endswith(".tar.zst"):
        unpack_tar_zst(subject, area, scratch, environ, echo)
    elif base.endswith(".zip"):
        extract_zip(subject, area)
    elif base.endswith((".deb", ".rpm")):
        root = os.path.join(area, "root")
        unpack = unpack_deb_opt if base.endswith(".deb") else unpack_rpm_opt
        unpack(subject, root, scratch, environ, echo)
        return _installed_under_opt(area, root, subject)
    elif _carries_payload(subject):
        # A onefile program: it needs nothing beside it, so it runs from the area itself.
        shutil.copy2(subject, os.path.join(area, base))
        return [f"{SANDBOX_AREA}/{base}"], SANDBOX_AREA
    else:
        raise UsageError(
            "not a bundle directory, archive (.tar.gz, .tar.zst, .zip), .deb, .rpm, installer "
            "or onefile program",
            path=subject,
            fix="pass what `packager bundle` wrote",
        )
    tops = sorted(os.listdir(area))
    if len(tops) != 1 or not os.path.isdir(os.path.join(area, tops[0])):
        raise UnreadableInputError("the archive must hold exactly one top folder", path=subject)
    return _launched(area, os.path.join(area, tops[0]), tops[0], subject)


def _installed_under_opt(area: str, root: str, subject: str) -> tuple[list[str], str]:
    """The launch of a package's files extracted to `root`: its one folder under /opt."""
    opt = os.path.join(root, "opt")
    names = sorted(os.listdir(opt)) if os.path.isdir(opt) else []
    if len(names) != 1:
        raise UnreadableInputError(
            "expected one folder under /opt in the package",
            path=subject,
            fix="pass a .deb or .rpm written by `packager bundle`",
        )
    return _launched(area, os.path.join(root, "opt", names[0]), names[0], subject)


def _launched(area: str, tree: str, name: str, subject: str) -> tuple[list[str], str]:
    launcher = _launcher_in(area, tree, name, subject)
    return [launcher], os.path.dirname(launcher)


def _carries_payload(path: str) -> bool:
    from packager.binary.onefile_payload import read_payload

    return read_payload(path) is not None


def _launcher_in(area: str, tree: str, name: str, subject: str) -> str:
    """The sandbox path of the launcher `name` at the top of `tree` (a folder in `area`)."""
    launcher = os.path.join(tree, name)
    if not os.path.isfile(launcher):
        raise UnreadableInputError(
            f"no launcher '{name}' at the top of the bundle",
            path=subject,
            fix="pass a folder or archive written by `packager bundle`",
        )
    return os.path.join(SANDBOX_AREA, os.path.relpath(launcher, area))
