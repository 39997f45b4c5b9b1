"""The onefile archive's zip writer and its store of deflated members, against `zipfile`:
the same members give the same bytes, whether deflated now or taken from the store."""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from pathlib import Path

from packager.bundle.onefile.archive import write_archive
from packager.bundle.onefile.deflated import DeflatedStore
from packager.bundle.onefile.zip_writer import ZipWriter

DATE_TIME = (2024, 2, 29, 13, 45, 58)
MEMBERS = {
    "encodings/__init__.pyc": bytes(range(256)) * 40,
    "lib-dynload/_json.so": b"\x7fELF" + os.urandom(3000),  # incompressible
    "site-packages/naïve/__init__.pyc": b"print('hello')\n" * 100,  # a UTF-8 name
    "empty.txt": b"",
}


def _zipfile_bytes(stored: frozenset[str], comment: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in MEMBERS.items():
            info = zipfile.ZipInfo(name, DATE_TIME)
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
        archive.comment = comment
    return buffer.getvalue()


def _our_bytes(stored: frozenset[str], comment: bytes) -> bytes:
    writer = ZipWriter(DATE_TIME)
    for name, data in MEMBERS.items():
        deflated = None if name in stored else zlib.compress(data, 9, -zlib.MAX_WBITS)
        writer.add(name, data, deflated)
    return writer.finish(comment)


def test_the_writer_writes_the_bytes_zipfile_writes() -> None:
    stored = frozenset({"lib-dynload/_json.so"})
    assert _our_bytes(stored, b"a comment") == _zipfile_bytes(stored, b"a comment")


def test_the_writer_returns_each_members_record_at_its_offset() -> None:
    writer = ZipWriter(DATE_TIME)
    records = [writer.add(name, data) for name, data in MEMBERS.items()]
    zipped = writer.finish(b"")
    offsets = [info.header_offset for info in zipfile.ZipFile(io.BytesIO(zipped)).infolist()]
    assert [(offset, zipped[offset : offset + len(r)]) for offset, r in records] == [
        (offset, record) for offset, (_, record) in zip(offsets, records, strict=True)
    ]


def _archive(tmp_path: Path, store: DeflatedStore) -> bytes:
    paths = {}
    for index, (name, data) in enumerate(MEMBERS.items()):
        path = tmp_path / f"member-{index}"
        path.write_bytes(data)
        paths[name] = str(path)
    return write_archive(paths, comment=b"c", mtime=0, deflate=True, store=store)


def test_an_archive_from_the_store_is_the_archive_made_without_one(tmp_path: Path) -> None:
    store = DeflatedStore(str(tmp_path / "cache"))
    first = _archive(tmp_path, store)
    assert (_archive(tmp_path, store), _archive(tmp_path, DeflatedStore(None))) == (first, first)


def test_the_store_keeps_one_stream_per_distinct_member(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _archive(tmp_path, DeflatedStore(str(cache)))
    assert len([p for p in cache.rglob("*") if p.is_file()]) == len(MEMBERS)


def test_a_damaged_stream_in_the_store_is_made_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _archive(tmp_path, DeflatedStore(str(cache)))
    for kept in (p for p in cache.rglob("*") if p.is_file()):
        kept.write_bytes(kept.read_bytes()[:-40] + b"\0" * 40)
    assert _archive(tmp_path, DeflatedStore(str(cache))) == first


def test_an_unwritable_store_still_deflates(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache's folder would go")
    zipped = _archive(tmp_path, DeflatedStore(str(cache)))
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert {name: archive.read(name) for name in MEMBERS} == MEMBERS
