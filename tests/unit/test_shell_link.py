"""Where a Windows shortcut (.lnk) points, from shortcuts laid out as MS-SHLLINK says."""

from __future__ import annotations

import struct

import pytest

from packager.binary.shell_link import shell_link_target
from packager.core.errors import UnreadableInputError

LINK_CLSID = bytes.fromhex("0114020000000000c000000000000046")
FOLDER = "C:\\users\\me\\AppData\\Local\\Programs\\Hello Café"
TARGET = FOLDER + "\\hello.cmd"


def shell_link(
    target: str, *, id_list: bytes | None = None, working_dir: str | None = None
) -> bytes:
    """A shortcut: header, optional IDList, LinkInfo with the ANSI path, Unicode strings.

    The working folder is counted with its terminating NUL, as wine writes it.
    """
    flags = 0x2 | (0x1 if id_list is not None else 0) | (0x90 if working_dir else 0)
    header = struct.pack("<I16sI", 0x4C, LINK_CLSID, flags) + bytes(0x4C - 24)
    listed = b"" if id_list is None else struct.pack("<H", len(id_list)) + id_list
    path = target.encode("cp1252", errors="replace") + b"\0"
    info = struct.pack("<IIIIIII", 0x1C + len(path), 0x1C, 1, 0, 0x1C, 0, 0) + path
    strings = b""
    if working_dir:
        text = working_dir + "\0"
        strings = struct.pack("<H", len(text)) + text.encode("utf-16-le")
    return header + listed + info + strings


@pytest.mark.parametrize("id_list", [None, b"\x14\x00" + bytes(18) + b"\x00\x00"])
def test_the_target_is_read_from_link_info(id_list: bytes | None) -> None:
    assert shell_link_target(shell_link(TARGET, id_list=id_list)) == TARGET


def test_a_target_beyond_the_ansi_code_page_comes_from_the_unicode_working_folder() -> None:
    folder = "C:\\users\\me\\AppData\\Local\\Programs\\Héllo ✓ 你好"
    link = shell_link(folder + "\\hello.cmd", working_dir=folder)
    assert shell_link_target(link) == folder + "\\hello.cmd"
    # A Unicode string that is not the target's folder is not taken for it.
    other = shell_link(folder + "\\hello.cmd", working_dir="C:\\elsewhere ✓")
    with pytest.raises(UnreadableInputError, match="lost characters"):
        shell_link_target(other)


def test_damaged_shortcuts_are_refused_at_every_length() -> None:
    link = shell_link("C:\\a ✓\\b.cmd", id_list=bytes(20), working_dir="C:\\a ✓")
    assert shell_link_target(link) == "C:\\a ✓\\b.cmd"
    for length in range(len(link)):
        with pytest.raises(UnreadableInputError):
            shell_link_target(link[:length], "x.lnk")
    without_info = bytearray(link)
    without_info[0x14] = 0x1
    with pytest.raises(UnreadableInputError, match="no local path"):
        shell_link_target(bytes(without_info))
    with pytest.raises(UnreadableInputError, match="not a Windows shortcut"):
        shell_link_target(b"MZ" + bytes(100))
