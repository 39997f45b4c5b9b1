"""A zip written from members' bytes, each either stored or already deflated.

`zipfile` compresses what it is given, so a member deflated by an earlier build (see
`deflated.py`) cannot go through it. This writer lays out the same bytes `zipfile`
writes for a seekable stream: version 2.0 records, no data descriptors, no zip64, Unix
attributes, one timestamp; names in ASCII, or UTF-8 with the flag that says so.
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib

from packager.core.errors import UsageError

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_VERSION = 20  # 2.0: deflate, folders
_UNIX = 3
_UTF8_NAME = 0x800
_ATTRIBUTES = (stat.S_IFREG | 0o644) << 16
_LIMIT = 0xFFFFFFFF  # sizes and offsets past this need zip64, which is not written


class ZipWriter:
    """Members appended one by one to an in-memory zip; `finish` returns its bytes."""

    def __init__(self, date_time: tuple[int, int, int, int, int, int]) -> None:
        year, month, day, hour, minute, second = date_time
        self._date = (year - 1980) << 9 | month << 5 | day
        self._time = hour << 11 | minute << 5 | second // 2
        self._out = io.BytesIO()
        self._central: list[bytes] = []

    def add(self, name: str, data: bytes, deflated: bytes | None = None) -> tuple[int, bytes]:
        """Append `name` holding `data`: stored, or as `deflated` (raw deflate of `data`).
        Returns the offset of its local header and the record written there (header,
        name and stored bytes)."""
        encoded, flags = _encoded(name)
        method = zipfile.ZIP_STORED if deflated is None else zipfile.ZIP_DEFLATED
        payload = data if deflated is None else deflated
        offset = self._out.tell()
        if max(offset, len(data), len(payload)) > _LIMIT:
            raise UsageError(
                f"the module archive would pass 4 GiB at {name}, which a onefile program "
                "cannot hold",
                fix="keep only the modules the program imports (--only-needed), or ship a "
                "directory bundle",
            )
        fields = (flags, method, self._time, self._date, zlib.crc32(data), len(payload))
        header = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, *fields, len(data), len(encoded), 0)
        record = header + encoded + payload
        self._out.write(record)
        self._central.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                _VERSION,
                _UNIX,
                _VERSION,
                0,
                *fields,
                len(data),
                len(encoded),
                0,
                0,
                0,
                0,
                _ATTRIBUTES,
                offset,
            )
            + encoded
        )
        return offset, record

    def finish(self, comment: bytes) -> bytes:
        """The central directory and end record after the members; the whole zip."""
        start = self._out.tell()
        for entry in self._central:
            self._out.write(entry)
        size = self._out.tell() - start
        count = len(self._central)
        if count > 0xFFFF or start + size > _LIMIT or len(comment) > 0xFFFF:
            raise UsageError(f"the module archive is too large for a zip ({count} members)")
        self._out.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, start, len(comment)))
        self._out.write(comment)
        return self._out.getvalue()


def _encoded(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8_NAME
