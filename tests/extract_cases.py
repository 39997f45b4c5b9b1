"""Hostile and well-formed archives for packager.core.safe_extract; needs no pytest.

tests/test_safe_extract.py runs every case in the test interpreter, and runs this file as a
script under Debian's python3.11 (3.11.2, older than tarfile's extraction filters):

    python3.11 tests/extract_cases.py     one line per case; exit status 1 if any failed
"""

from __future__ import annotations

import io
import os
import stat
import sys
import tarfile
import tempfile
import traceback
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from packager.core.errors import UnreadableInputError
from packager.core.safe_extract import extract_tar, extract_zip

SECRET = b"the host's file"
TarMembers = list[tuple[tarfile.TarInfo, bytes]]
ZipMembers = list[tuple[str, bytes, int]]


# --- tar members ----------------------------------------------------------------------------


def _file(name: str, data: bytes = b"data", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 1_700_000_000
    return info, data


def _dir(name: str) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, b""


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, b""


def _special(name: str, kind: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.devmajor, info.devminor = 1, 3  # /dev/null's numbers
    return info, b""


def _tar(path: Path, members: TarMembers) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _zip(path: Path, members: ZipMembers) -> Path:
    """`members` are (name, data, the Unix st_mode to store, or 0 for a zip made on Windows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are one of the cases
        with zipfile.ZipFile(path, "w") as archive:
            for name, data, unix_mode in members:
                info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
                if unix_mode:
                    info.external_attr = unix_mode << 16
                else:
                    info.create_system = 0  # MS-DOS: only the DOS "archive" attribute
                    info.external_attr = 0x20
                archive.writestr(info, data)
    return path


# --- one work area per case -----------------------------------------------------------------


class Area:
    """`dest` (empty) beside `outside`, which holds one file a hostile archive aims at."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.dest = work / "dest"
        self.outside = work / "outside"
        self.dest.mkdir()
        self.outside.mkdir()
        self.secret = self.outside / "secret"
        self.secret.write_bytes(SECRET)

    def assert_refused(self, extract: Callable[[str, str], None], archive: Path) -> str:
        try:
            extract(str(archive), str(self.dest))
        except UnreadableInputError as exc:
            message = str(exc)
        else:
            raise AssertionError(f"{archive.name} was extracted, expected a refusal")
        assert message.startswith(str(archive)), message
        assert sorted(p.name for p in self.outside.iterdir()) == ["secret"], "wrote outside"
        assert self.secret.read_bytes() == SECRET, "changed the file outside"
        assert os.stat(self.secret).st_nlink == 1, "hard-linked the file outside"
        return message


def _refused_tar(members: Callable[[Area], TarMembers], expected: str) -> Callable[[Path], None]:
    return _refused(lambda area: _tar(area.work / "hostile.tar.gz", members(area)), expected)


def _refused_zip(members: Callable[[Area], ZipMembers], expected: str) -> Callable[[Path], None]:
    return _refused(lambda area: _zip(area.work / "hostile.zip", members(area)), expected)


def _refused(write: Callable[[Area], Path], expected: str) -> Callable[[Path], None]:
    """A case: the archive `write` makes is refused with `expected` in the message."""

    def case(work: Path) -> None:
        area = Area(work)
        archive = write(area)
        extract = extract_zip if archive.suffix == ".zip" else extract_tar
        message = area.assert_refused(extract, archive)
        assert expected in message, message

    return case


# Each hostile archive, and words the refusal must contain.
HOSTILE_TAR: dict[str, Callable[[Path], None]] = {
    "absolute name": _refused_tar(
        lambda area: [_file(str(area.outside / "planted"))], "absolute name"
    ),
    "dot-dot name": _refused_tar(lambda area: [_file("../outside/planted")], "'..'"),
    "dot-dot inside a name": _refused_tar(
        lambda area: [_dir("a"), _file("a/../../outside/planted")], "'..'"
    ),
    "absolute symlink": _refused_tar(
        lambda area: [_link("link", str(area.outside))], "absolute path"
    ),
    "symlink up": _refused_tar(lambda area: [_link("link", "../outside")], "outside"),
    "symlink up from a folder": _refused_tar(
        lambda area: [_dir("a"), _link("a/link", "../../outside/secret")], "outside"
    ),
    # Each link looks inside by its own text; followed, b leads to dest/.. (a chain escape).
    "symlink chain": _refused_tar(
        lambda area: [_dir("p"), _link("p/d", "../q"), _link("b", "p/d/../..")], "leads outside"
    ),
    "write through the chain": _refused_tar(
        lambda area: [
            _dir("p"),
            _link("p/d", "../q"),
            _link("b", "p/d/../.."),
            _file("b/outside/planted"),
        ],
        "through a link",
    ),
    "write through a symlink": _refused_tar(
        lambda area: [_dir("real"), _link("via", "real"), _file("via/planted")], "through a link"
    ),
    "symlink loop": _refused_tar(lambda area: [_link("a", "b"), _link("b", "a")], "loop"),
    "absolute hard link": _refused_tar(
        lambda area: [_link("h", str(area.secret), tarfile.LNKTYPE)], "absolute name"
    ),
    "hard link up": _refused_tar(
        lambda area: [_link("h", "../outside/secret", tarfile.LNKTYPE)], "'..'"
    ),
    "hard link to a name not extracted": _refused_tar(
        lambda area: [_link("h", "missing", tarfile.LNKTYPE)], "not a file extracted before"
    ),
    "hard link to a symlink": _refused_tar(
        lambda area: [_file("f"), _link("s", "f"), _link("h", "s", tarfile.LNKTYPE)],
        "not a file extracted before",
    ),
    "character device": _refused_tar(lambda area: [_special("null", tarfile.CHRTYPE)], "device"),
    "block device": _refused_tar(lambda area: [_special("disk", tarfile.BLKTYPE)], "device"),
    "fifo": _refused_tar(lambda area: [_special("pipe", tarfile.FIFOTYPE)], "FIFO"),
    "file twice": _refused_tar(lambda area: [_file("f"), _file("f", b"again")], "twice"),
    "file replaced by a symlink": _refused_tar(lambda area: [_file("f"), _link("f", "g")], "twice"),
    "folder replaced by a file": _refused_tar(lambda area: [_dir("d"), _file("d")], "twice"),
}

HOSTILE_ZIP: dict[str, Callable[[Path], None]] = {
    "absolute name": _refused_zip(
        lambda area: [(str(area.outside / "planted"), b"x", 0)], "absolute name"
    ),
    "dot-dot name": _refused_zip(lambda area: [("../outside/planted", b"x", 0)], "'..'"),
    "symlink": _refused_zip(
        lambda area: [("link", b"../outside", stat.S_IFLNK | 0o777)], "a symlink"
    ),
    "fifo": _refused_zip(lambda area: [("pipe", b"", stat.S_IFIFO | 0o644)], "not a regular"),
    "file twice": _refused_zip(lambda area: [("f", b"a", 0), ("f", b"b", 0)], "twice"),
}


def truncated_tar(work: Path) -> None:
    """A cut-off tar.gz is reported as unreadable, not as an internal error."""
    area = Area(work)
    whole = _tar(work / "whole.tar.gz", [_file("big", os.urandom(200_000))])
    cut = work / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[:50_000])
    assert "cannot extract" in area.assert_refused(extract_tar, cut)


def corrupt_zip(work: Path) -> None:
    """A zip whose compressed data is damaged is reported as unreadable."""
    area = Area(work)
    archive = work / "corrupt.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("big", os.urandom(100_000))
    data = bytearray(archive.read_bytes())
    data[1000:2000] = bytes(byte ^ 0xFF for byte in data[1000:2000])
    archive.write_bytes(data)
    assert "cannot extract" in area.assert_refused(extract_zip, archive)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def well_formed_tar(work: Path) -> None:
    """Folders, files, relative symlinks (also up a level) and a hard link come out whole."""
    area = Area(work)
    archive = _tar(
        work / "app.tar.gz",
        [
            _dir("."),
            _dir("app"),
            _dir("app/bin"),
            _file("app/bin/run", b"#!/bin/sh\n", 0o4777),  # setuid and world-writable
            _link("app/bin/again", "app/bin/run", tarfile.LNKTYPE),
            _link("app/bin/lib", "../lib"),
            _file("./app/lib/libx.so.1", b"ELF", 0o644),  # parent made on the way
            _link("app/lib/libx.so", "libx.so.1"),
            _link("app/lib/dangling", "not-there"),
            _file("app/data", b"shared", 0o666),
            _file("app/locked", b"", 0o000),
            _file("app/group-exec", b"", 0o675),
        ],
    )
    extract_tar(str(archive), str(area.dest))
    app = area.dest / "app"
    assert (app / "bin" / "lib" / "libx.so").read_bytes() == b"ELF"
    assert os.readlink(app / "lib" / "libx.so") == "libx.so.1"
    assert os.path.samefile(app / "bin" / "run", app / "bin" / "again")
    assert (app / "bin" / "run").read_bytes() == b"#!/bin/sh\n"
    assert os.stat(app / "bin" / "run").st_mtime == 1_700_000_000
    modes = {name: _mode(app / name) for name in ("bin/run", "data", "locked", "group-exec")}
    assert modes == {"bin/run": 0o755, "data": 0o644, "locked": 0o600, "group-exec": 0o644}


def well_formed_zip(work: Path) -> None:
    """Folders and files come out with sane modes; a zip from Windows (no mode) too."""
    area = Area(work)
    archive = _zip(
        work / "app.zip",
        [
            ("app/", b"", stat.S_IFDIR | 0o755),
            ("app/run", b"run", stat.S_IFREG | 0o6777),
            ("app/sub/data", b"data", stat.S_IFREG | 0o666),
            ("app/windows.txt", b"w", 0),
        ],
    )
    extract_zip(str(archive), str(area.dest))
    app = area.dest / "app"
    assert (app / "sub" / "data").read_bytes() == b"data"
    modes = {name: _mode(app / name) for name in ("run", "sub/data", "windows.txt")}
    assert modes == {"run": 0o755, "sub/data": 0o644, "windows.txt": 0o644}


def zip_bomb(work: Path) -> None:
    """4 MiB of zeros in a few KiB, extracted under a 1 MiB limit: refused at the limit."""
    area = Area(work)
    bomb = area.work / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros", bytes(4 << 20))
    try:
        extract_zip(str(bomb), str(area.dest), limit=1 << 20)
    except UnreadableInputError as exc:
        assert "unpack to far more than the archive holds" in str(exc), exc
    else:
        raise AssertionError("the bomb was extracted")
    written = sum(path.stat().st_size for path in area.dest.rglob("*") if path.is_file())
    assert written <= 1 << 20, f"{written} bytes written"


def fifo_archive(work: Path) -> None:
    """A FIFO named like an archive is refused without being read (a read would block)."""
    area = Area(work)
    fifo = area.work / "hostile.tar.gz"
    os.mkfifo(fifo)
    message = area.assert_refused(extract_tar, fifo)
    assert "not a regular file" in message, message


CASES: dict[str, Callable[[Path], None]] = {
    **{f"tar: {name}": case for name, case in HOSTILE_TAR.items()},
    **{f"zip: {name}": case for name, case in HOSTILE_ZIP.items()},
    "tar: truncated": truncated_tar,
    "zip: corrupt": corrupt_zip,
    "tar: well formed": well_formed_tar,
    "zip: well formed": well_formed_zip,
    "zip: bomb": zip_bomb,
    "tar: a FIFO": fifo_archive,
}


def main() -> int:
    """Run every case in a fresh directory; print one line each; 1 if any failed."""
    failed = 0
    for name, case in CASES.items():
        with tempfile.TemporaryDirectory(prefix="extract-case-") as work:
            try:
                case(Path(work))
            except Exception:
                failed += 1
                print(f"FAIL {name}\n{traceback.format_exc()}")
            else:
                print(f"ok   {name}")
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"python {version}, tarfile.data_filter: {hasattr(tarfile, 'data_filter')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
