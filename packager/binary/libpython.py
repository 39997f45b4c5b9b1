"""Recognise libpython among a binary's needed libraries, for every format."""

from __future__ import annotations

import re

from packager.binary.model import BinaryFormat

# ELF: libpython3.11.so.1.0, libpython3.11d.so, libpython3.13t.so.1.0; libpython3.so is the
# stable-ABI forwarding library some distributions ship.
_ELF_VERSIONED = re.compile(r"^libpython(\d)\.(\d+)[dmtu]*\.so(?:\.\d+)*$")
_ELF_ABI3 = re.compile(r"^libpython3\.so$")
# Mach-O: libpython3.11.dylib, or a framework: Python.framework/Versions/3.11/Python.
_MACHO_DYLIB = re.compile(r"^libpython(\d)\.(\d+)[dmtu]*\.dylib$")
_MACHO_FRAMEWORK = re.compile(r"(?:^|/)Python3?\.framework/(?:Versions/(\d)\.(\d+)/)?Python3?$")
# PE: python311.dll, python311_d.dll, python313t.dll; python3.dll is the abi3 forwarder.
_PE_VERSIONED = re.compile(r"^python(\d)(\d+)t?(?:_d)?\.dll$", re.IGNORECASE)
_PE_ABI3 = re.compile(r"^python3(?:_d)?\.dll$", re.IGNORECASE)


def match_libpython(name: str, binary_format: BinaryFormat) -> tuple[str | None, bool] | None:
    """If `name` is a libpython, return (version or None, abi3); otherwise None."""
    base = name.rsplit("/", 1)[-1]
    if binary_format is BinaryFormat.ELF:
        if _ELF_ABI3.match(base):
            return None, True
        found = _ELF_VERSIONED.match(base)
    elif binary_format is BinaryFormat.MACHO:
        found = _MACHO_DYLIB.match(base)
        if found is None:
            framework = _MACHO_FRAMEWORK.search(name)
            if framework is None:
                return None
            major, minor = framework.groups()
            return (f"{major}.{minor}" if major else None), False
    else:
        if _PE_ABI3.match(base):
            return None, True
        found = _PE_VERSIONED.match(base)
    if found is None:
        return None
    return f"{found.group(1)}.{found.group(2)}", False
