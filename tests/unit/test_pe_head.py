"""PE files are found by their MZ magic, whatever their name; links are not followed."""

from __future__ import annotations

import os
from pathlib import Path

from packager.binary.pe_head import pe_files_under


def test_pe_files_are_found_by_their_magic_not_their_name(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "tool.bin").write_bytes(b"MZ\x90\x00" + bytes(60))
    (tmp_path / "program.exe").write_bytes(b"MZ\x90\x00" + bytes(60))
    (tmp_path / "readme.dll").write_text("not a DLL\n")
    os.symlink(tmp_path / "program.exe", tmp_path / "link.dll")
    found = [os.path.relpath(path, tmp_path) for path in pe_files_under(str(tmp_path))]
    assert found == ["program.exe", os.path.join("sub", "tool.bin")]
