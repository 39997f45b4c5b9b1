"""Which files are ELF, and for which machine: read from the first bytes of each file."""

from __future__ import annotations

from packager.core.fsutil import files_under, starts_with
from packager.targets.machines import elf_machine_name

_ELF_MAGIC = b"\x7fELF"


def is_elf(path: str) -> bool:
    """Whether `path` is a regular file that starts with the ELF magic number."""
    return starts_with(path, _ELF_MAGIC)


def elf_files_under(root: str) -> list[str]:
    """Every ELF file under `root` (shared objects of any name), sorted."""
    return files_under(root, is_elf)


def elf_machine(path: str) -> str | None:
    """The machine an ELF file is for ("x86_64"), None when it is not ELF."""
    with open(path, "rb") as handle:
        head = handle.read(20)
    if len(head) < 20 or head[:4] != _ELF_MAGIC:
        return None
    little = head[5] == 1
    return elf_machine_name(
        head[4] == 2, little, int.from_bytes(head[18:20], "little" if little else "big")
    )
