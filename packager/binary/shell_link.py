"""Read where a Windows shortcut (.lnk, MS-SHLLINK) points, with bounded reads.

The target is the LinkInfo's LocalBasePath, which is in the ANSI code page: a character
the code page lacks is written as '?' (a character no Windows path holds). Such a path
is recovered from the link's Unicode strings (the working folder, the icon's path), the
one whose ANSI form it is.
"""

from __future__ import annotations

import struct

from packager.core.errors import UnreadableInputError

_HEADER_SIZE = 0x4C
_LINK_CLSID = bytes.fromhex("0114020000000000c000000000000046")
_HAS_ID_LIST = 0x1
_HAS_LINK_INFO = 0x2
_IS_UNICODE = 0x80
# StringData, in file order: name, relative path, working folder, arguments, icon path.
_STRINGS = (0x4, 0x8, 0x10, 0x20, 0x40)
_PATH_STRINGS = (0x8, 0x10, 0x40)
_ANSI = "cp1252"  # the code page wine writes LocalBasePath in


def shell_link_target(data: bytes, path: str = "<shortcut>") -> str:
    """The local path the shell link `data` points to."""
    if len(data) < _HEADER_SIZE or data[:4] != b"\x4c\0\0\0" or data[4:20] != _LINK_CLSID:
        raise UnreadableInputError("not a Windows shortcut (.lnk)", path=path)
    (flags,) = struct.unpack_from("<I", data, 0x14)
    offset = _HEADER_SIZE
    if flags & _HAS_ID_LIST:
        offset += 2 + _field(data, "<H", offset, path)
    if not flags & _HAS_LINK_INFO:
        raise UnreadableInputError("the shortcut names no local path", path=path)
    info_size = _field(data, "<I", offset, path)
    base_path = _field(data, "<I", offset + 16, path)
    end = data.find(b"\0", offset + base_path, offset + info_size)
    if not 0 < base_path < info_size or offset + info_size > len(data) or end < 0:
        raise UnreadableInputError("the shortcut's link information is damaged", path=path)
    target = data[offset + base_path : end].decode(_ANSI, errors="replace")
    if "?" not in target:
        return target
    leaf = target.rpartition("\\")[2]
    for candidate in _path_strings(data, flags, offset + info_size, path):
        for full in (candidate, candidate.rstrip("\\") + "\\" + leaf):
            if full.encode(_ANSI, errors="replace").decode(_ANSI) == target:
                return full
    raise UnreadableInputError(
        f"the shortcut's target {target!r} lost characters to the ANSI code page, and "
        "none of its Unicode paths is that target",
        path=path,
    )


def _path_strings(data: bytes, flags: int, offset: int, path: str) -> list[str]:
    """The relative path, working folder and icon path the link's StringData holds."""
    width = 2 if flags & _IS_UNICODE else 1
    found: list[str] = []
    for flag in _STRINGS:
        if not flags & flag:
            continue
        count = _field(data, "<H", offset, path)
        start, offset = offset + 2, offset + 2 + count * width
        if offset > len(data):
            raise UnreadableInputError("the shortcut's strings are truncated", path=path)
        if flag in _PATH_STRINGS:
            raw = data[start:offset]
            text = raw.decode("utf-16-le" if width == 2 else _ANSI, errors="replace")
            found.append(text.split("\0", 1)[0])  # wine counts a terminating NUL in
    return found


def _field(data: bytes, layout: str, offset: int, path: str) -> int:
    if offset < 0 or offset + struct.calcsize(layout) > len(data):
        raise UnreadableInputError("the shortcut is truncated", path=path)
    (value,) = struct.unpack_from(layout, data, offset)
    return int(value)
