"""Machines: the architectures packager can name, and what each is called elsewhere.

A binary reader names a file's machine from its header (ELF e_machine, PE Machine); the
rest of packager spells the same machine as Debian (multiarch triplets, package
architectures), RPM, the kernel (AT_PLATFORM) and OpenSSL's build do. One record per
machine keeps those spellings together.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass


@dataclass(frozen=True)
class Machine:
    """One architecture, by the name packager reports, and its names elsewhere."""

    name: str  # as the readers report it
    multiarch: str | None = None  # Debian's multiarch triplet, the GNU tools' prefix
    platform: str | None = None  # AT_PLATFORM, what the loader's $PLATFORM expands to
    deb: str | None = None  # Debian's architecture
    rpm: str | None = None  # RPM's architecture
    rpm_64bit: bool = False  # whether rpm marks its sonames "(64bit)"
    openssl: str | None = None  # OpenSSL's Configure target for Linux


MACHINES = {
    machine.name: machine
    for machine in (
        Machine("x86_64", "x86_64-linux-gnu", "x86_64", "amd64", "x86_64", True, "linux-x86_64"),
        Machine(
            "aarch64", "aarch64-linux-gnu", "aarch64", "arm64", "aarch64", True, "linux-aarch64"
        ),
        Machine("i386", "i386-linux-gnu", "i686", "i386", "i686"),
        Machine("x32", "x86_64-linux-gnux32"),
        Machine("arm", "arm-linux-gnueabihf", None, "armhf", "armv7hl"),
        Machine("ppc64le", "powerpc64le-linux-gnu", None, "ppc64el", "ppc64le", True),
        Machine("ppc64", "powerpc64-linux-gnu"),
        Machine("ppc", "powerpc-linux-gnu"),
        Machine("s390x", "s390x-linux-gnu", "s390x", "s390x", "s390x", True),
        Machine("riscv64", "riscv64-linux-gnu", None, "riscv64", "riscv64", True),
        Machine("mips64el", "mips64el-linux-gnuabi64"),
        Machine("mipsel", "mipsel-linux-gnu"),
        Machine("loongarch64", "loongarch64-linux-gnu"),
    )
}

# ELF e_machine -> (name for ELFCLASS32, name for ELFCLASS64); PPC64 and MIPS also need
# the byte order, so the reader names them itself.
ELF_MACHINES = {
    3: ("i386", "i386"),
    20: ("ppc", "ppc"),
    22: ("s390", "s390x"),
    40: ("arm", "arm"),
    62: ("x32", "x86_64"),
    183: ("aarch64", "aarch64"),
    243: ("riscv32", "riscv64"),
    258: ("loongarch32", "loongarch64"),
}

# PE/COFF Machine -> name.
PE_MACHINES = {
    0x8664: "x86_64",  # IMAGE_FILE_MACHINE_AMD64
    0x014C: "i386",  # IMAGE_FILE_MACHINE_I386
    0xAA64: "aarch64",  # IMAGE_FILE_MACHINE_ARM64
    0x01C0: "arm",  # IMAGE_FILE_MACHINE_ARM
    0x01C4: "arm",  # IMAGE_FILE_MACHINE_ARMNT (Thumb-2)
}


def elf_machine_name(is64: bool, little: bool, machine: int) -> str:
    """The architecture name packager reports for an ELF class, byte order and e_machine."""
    if machine == 21:
        return "ppc64le" if little else "ppc64"
    if machine in (8, 10):  # EM_MIPS, EM_MIPS_RS3_LE
        return ("mips64" if is64 else "mips") + ("el" if little else "")
    names = ELF_MACHINES.get(machine)
    return names[is64] if names else f"unknown-{machine}"


def elf_machine_number(name: str) -> int | None:
    """The 64-bit ELF e_machine of the machine `name`, None when it has none here."""
    return next((number for number, names in ELF_MACHINES.items() if names[1] == name), None)


def machine(name: str) -> Machine:
    """The record of the machine `name`; one with no other names for one this table lacks."""
    return MACHINES.get(name) or Machine(name)


def host_arch() -> str:
    """The architecture name of this machine as the readers, zig and the runtimes spell it."""
    name = platform.machine()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(name.lower(), name)
