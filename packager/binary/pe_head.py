"""Which files are PE (Windows programs, DLLs, .pyd): read from the first bytes of each."""

from __future__ import annotations

from packager.core.fsutil import files_under, starts_with

_MZ_MAGIC = b"MZ"  # the DOS header every PE file starts with, whatever its name


def is_pe(path: str) -> bool:
    """Whether `path` is a regular file that starts with the MZ magic number."""
    return starts_with(path, _MZ_MAGIC)


def pe_files_under(root: str) -> list[str]:
    """Every PE file under `root` (.exe, .dll, .pyd, or any other name), sorted."""
    return files_under(root, is_pe)
