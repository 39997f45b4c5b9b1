"""Run a bundle for another Linux architecture (a target whose runner is qemu) under qemu-user.

The launcher is a host shell script that execs the program, so the kernel itself must
hand the foreign ELF file to qemu: a binfmt_misc handler. Without one registered on the
host, the sandbox is started inside a user namespace of its own, where Linux 6.7 and
later let an unprivileged process mount binfmt_misc and register `qemu-ARCH-static`
there (flag F: the kernel opens qemu at registration, so it need not be visible in the
sandbox). Nothing is registered on the host.

qemu finds the program's loader and C library under QEMU_LD_PREFIX: a directory made
here from the target's root with only the libraries every Linux system has (the
manylinux allowlist: libc, libm, the loader, libgcc_s...). Nothing else of the root is
visible, so a library the bundle forgot to ship, or the root's own Python, cannot
stand in for what the bundle carries.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

from packager.binary.elf_head import elf_files_under, elf_machine
from packager.binary.floor import is_allowed
from packager.core import runner
from packager.core.errors import UsageError
from packager.python.target_root import LINUX_ROOT_FIX
from packager.targets import Runner, host_arch, linux_target_for
from packager.targets.machines import elf_machine_number

# Where the target's libraries are in the sandbox; QEMU_LD_PREFIX names it.
TARGET_LIBRARIES = "/tmp/packager-target"
_BINFMT = "/proc/sys/fs/binfmt_misc"
# Mount binfmt_misc in the new namespaces, register qemu ($1), then run the sandbox.
_REGISTER = (
    f'mount -t binfmt_misc binfmt_misc {_BINFMT} && printf "%s" "$1" > {_BINFMT}/register'
    ' || { echo "packager verify: this kernel cannot register qemu in a user namespace'
    ' (Linux 6.7 or later can; or register qemu-user-static handlers system-wide)" >&2;'
    ' exit 126; }; shift; exec "$@"'
)


def foreign_machine(tree: str) -> str | None:
    """The machine of the ELF files under `tree` when it is not this host's, else None."""
    host = host_arch()
    for path in elf_files_under(tree):
        machine = elf_machine(path)
        if machine is not None and machine != host:
            return machine
    return None


def qemu_prefix(machine: str, environ: Mapping[str, str]) -> list[str]:
    """The command that runs a sandbox (appended to it) where `machine` programs run."""
    if os.path.exists(os.path.join(_BINFMT, f"qemu-{machine}")):
        return []  # the host already hands such files to qemu
    target = linux_target_for(machine)
    number = elf_machine_number(machine)
    if target is None or target.runner is not Runner.QEMU or number is None:
        raise UsageError(f"no recipe to run {machine} programs on this {host_arch()} machine")
    qemu = runner.require(
        f"qemu-{machine}-static",
        environ,
        fix="install qemu-user-static (Debian: apt-get install qemu-user-static)",
    )
    unshare = runner.require("unshare", environ, fix="install util-linux")
    machine_bytes = "".join(f"\\x{b:02x}" for b in number.to_bytes(2, "little"))
    magic = "\\x7fELF\\x02\\x01\\x01" + "\\x00" * 9 + "\\x02\\x00" + machine_bytes
    mask = "\\xff" * 7 + "\\x00" + "\\xff" * 8 + "\\xfe\\xff\\xff\\xff"
    registration = f":packager-{machine}:M::{magic}:{mask}:{qemu}:F"
    sh = ["sh", "-c", _REGISTER, "sh", registration]
    return [unshare, "--user", "--map-root-user", "--mount", *sh]


def target_libraries(sysroot: str | None, machine: str, into: str, subject: str) -> str:
    """Copy the allowlisted libraries of the `machine` root `sysroot` into `into`, laid
    out as in the root (lib/<multiarch>/, the loader in lib/); returns `into`."""
    known = linux_target_for(machine)
    multiarch = known.multiarch if known is not None else None
    if sysroot is None or multiarch is None:
        raise UsageError(
            f"the bundle is built for {machine}: it runs under qemu-user with the target's "
            "C library, taken from the root it was built against",
            path=subject,
            fix="pass that root with --sysroot DIR (the --python-home of the build); "
            + LINUX_ROOT_FIX.split(": ", 1)[1],
        )
    for relative in ("lib", f"lib/{multiarch}", f"usr/lib/{multiarch}"):
        directory = os.path.join(sysroot, relative)
        if not os.path.isdir(directory):
            continue
        target = os.path.join(into, "lib" if relative == "lib" else f"lib/{multiarch}")
        os.makedirs(target, exist_ok=True)
        for name in sorted(os.listdir(directory)):
            source = os.path.join(directory, name)
            if is_allowed(name) and os.path.isfile(source):
                shutil.copyfile(source, os.path.join(target, name))
                os.chmod(os.path.join(target, name), 0o755)
    if not os.path.isfile(os.path.join(into, f"lib/{multiarch}/libc.so.6")):
        raise UsageError(
            f"the root has no {machine} C library (lib/{multiarch}/libc.so.6)",
            path=sysroot,
            fix=LINUX_ROOT_FIX,
        )
    return into
