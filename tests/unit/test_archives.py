"""Reproducible archives and the small pure helpers of the bundle package (hermetic)."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from packager.bundle import BundleFormat, parse_formats
from packager.bundle.stdlib import trim_rules
from packager.core.context import cache_root
from packager.core.errors import UsageError
from packager.core.fsutil import sha256_file
from packager.outputs import output_names
from packager.outputs.archives import (
    DEFAULT_MTIME,
    Entry,
    source_mtime,
    tree_entries,
    write_tar,
    write_tar_gz,
    write_zip,
)
from packager.outputs.deb import package_name, parse_dpkg_search
from packager.outputs.zstd import FRAME_MIN_SIZE, framed_files, write_tar_zst
from packager.verify.sandbox import hidden_paths


def make_tree(root: Path) -> Path:
    tree = root / "app"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "run").write_text("#!/bin/sh\n")
    (tree / "bin" / "run").chmod(0o700)
    (tree / "data é.txt").write_text("x")
    (tree / "data é.txt").chmod(0o600)
    os.utime(tree / "data é.txt", (12345, 12345))
    return tree


def test_tar_gz_metadata_is_normalised(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    write_tar_gz(tree_entries(str(make_tree(tmp_path)), "app"), str(archive), 1700000000)
    header = archive.read_bytes()[:10]
    assert header[3] & 0x08 == 0  # no FNAME field
    assert header[4:8] == b"\0\0\0\0"  # gzip mtime 0
    with tarfile.open(archive) as opened:
        members = opened.getmembers()
    assert [m.name for m in members] == ["app", "app/bin", "app/bin/run", "app/data é.txt"]
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == 1700000000
    modes = {m.name: m.mode for m in members}
    assert modes["app/bin/run"] == 0o755 and modes["app/data é.txt"] == 0o644


def test_archives_do_not_depend_on_file_times_or_order(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    tree_a, tree_b = make_tree(first), make_tree(second)
    os.utime(tree_b / "bin" / "run", (999, 999))
    for writer, suffix in ((write_tar_gz, "tar.gz"), (write_zip, "zip")):
        writer(tree_entries(str(tree_a), "app"), str(first / f"x.{suffix}"), DEFAULT_MTIME)
        writer(tree_entries(str(tree_b), "app"), str(second / f"x.{suffix}"), DEFAULT_MTIME)
        assert (first / f"x.{suffix}").read_bytes() == (second / f"x.{suffix}").read_bytes()
    write_tar_zst(tree_entries(str(tree_a), "app"), str(first / "x.zst"), 0, environ=os.environ)
    write_tar_zst(tree_entries(str(tree_b), "app"), str(second / "x.zst"), 0, environ=os.environ)
    assert (first / "x.zst").read_bytes() == (second / "x.zst").read_bytes()


def tarfile_bytes(entries: list[Entry], mtime: int) -> bytes:
    """What tarfile itself writes for `entries`: the reference for write_tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.mtime, info.mode, info.uid, info.gid = mtime, entry.mode, 0, 0
            info.uname = info.gname = ""
            if entry.source is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = os.path.getsize(entry.source)
                with open(entry.source, "rb") as source:
                    archive.addfile(info, source)
    return buffer.getvalue()


def test_write_tar_writes_what_tarfile_writes(tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    (tree / ("n\u00e4me-" + "x" * 120)).write_bytes(b"long non-ASCII name: a pax header")
    (tree / "block").write_bytes(b"b" * 512)
    entries = tree_entries(str(tree), "app")
    ours = io.BytesIO()
    write_tar(entries, ours, 1700000000)
    assert ours.getvalue() == tarfile_bytes(entries, 1700000000)


def unzstd(path: Path) -> bytes:
    return subprocess.run(["zstd", "-d", "-c", str(path)], capture_output=True, check=True).stdout


def test_tar_zst_frames_come_from_the_cache_and_change_no_byte(tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    big = tree / "lib.so"
    big.write_bytes(bytes(range(256)) * (FRAME_MIN_SIZE // 128))
    (tree / "small.so").write_bytes(b"s" * 100)
    entries = tree_entries(str(tree), "app")
    digests = {str(path): sha256_file(str(path)) for path in (big, tree / "small.so")}
    frames = framed_files(digests)
    assert list(frames) == [str(big)]
    cache = str(tmp_path / "cache")
    plain = tmp_path / "plain.tar.zst"
    write_tar_zst(entries, str(plain), 0, environ=os.environ)
    outputs = []
    for run in ("cold", "warm"):
        path = tmp_path / f"{run}.tar.zst"
        write_tar_zst(entries, str(path), 0, environ=os.environ, frames=frames, cache_dir=cache)
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    cached = list((tmp_path / "cache" / "zstd").glob(f"*/{digests[str(big)]}.zst"))
    assert len(cached) == 1 and cached[0].read_bytes() in outputs[0]
    tar = io.BytesIO()
    write_tar(entries, tar, 0)
    assert unzstd(tmp_path / "cold.tar.zst") == unzstd(plain) == tar.getvalue()
    # A frame someone slipped into the cache would show: it is used as stored.
    cached[0].write_bytes(b"")
    write_tar_zst(
        entries, str(tmp_path / "x.zst"), 0, environ=os.environ, frames=frames, cache_dir=cache
    )
    assert (tmp_path / "x.zst").read_bytes() != outputs[0]


def test_cache_root_follows_xdg_and_ignores_relative_values() -> None:
    assert cache_root({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == "/c/packager"
    assert cache_root({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == "/h/.cache/packager"
    assert cache_root({"HOME": "/h"}) == "/h/.cache/packager"
    assert cache_root({}) is None


def test_zip_keeps_unix_permissions(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    write_zip(tree_entries(str(make_tree(tmp_path)), "app"), str(archive), 0)
    with zipfile.ZipFile(archive) as opened:
        modes = {info.filename: info.external_attr >> 16 & 0o777 for info in opened.infolist()}
        assert opened.getinfo("app/bin/run").date_time == (1980, 1, 1, 0, 0, 0)
    assert modes["app/bin/run"] == 0o755 and modes["app/data é.txt"] == 0o644


def test_source_date_epoch() -> None:
    assert source_mtime({}) == DEFAULT_MTIME
    assert source_mtime({"SOURCE_DATE_EPOCH": "42"}) == 42
    with pytest.raises(UsageError):
        source_mtime({"SOURCE_DATE_EPOCH": "yesterday"})


def test_formats_and_output_names() -> None:
    assert parse_formats("zip, dir,zip") == (BundleFormat.DIR, BundleFormat.ZIP)
    with pytest.raises(UsageError):
        parse_formats("tar.bz2")
    names = output_names(
        "my_app", parse_formats("dir,tar.zst,installer,deb,rpm"), version="1.2", arch="x86_64"
    )
    assert names == {
        BundleFormat.DIR: "my_app",
        BundleFormat.TAR_ZST: "my_app.tar.zst",
        BundleFormat.INSTALLER: "my_app-installer.sh",
        BundleFormat.DEB: "my-app_1.2_amd64.deb",
        BundleFormat.RPM: "my-app-1.2-1.x86_64.rpm",
    }
    with pytest.raises(UsageError):
        package_name("X")


def test_keep_names_a_rule_or_a_module_inside_one() -> None:
    rules, kept = trim_rules(["turtle", "test.support"])
    assert kept == ("test", "tkinter")
    assert {rule.name for rule in rules}.isdisjoint(kept)
    with pytest.raises(UsageError, match="nothing to keep"):
        trim_rules(["json"])


def test_parse_dpkg_search() -> None:
    output = (
        "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n"
        "diversion by x from: /usr/bin/y\n"
        "zlib1g:amd64, zlib1g:i386: /lib/x86_64-linux-gnu/libz.so.1\n"
        "dpkg-query: no path found matching pattern /nope\n"
    )
    assert parse_dpkg_search(output) == {
        "/lib/x86_64-linux-gnu/libc.so.6": "libc6",
        "/lib/x86_64-linux-gnu/libz.so.1": "zlib1g",
    }


def test_sandbox_hides_pythons_but_not_ordinary_libraries() -> None:
    directories, files = hidden_paths({"HOME": "/root"})
    assert "/root" in directories
    assert not any("libc.so" in path or "libz.so" in path for path in files)
    if os.path.isdir("/usr/lib/python3.11"):
        assert "/usr/lib/python3.11" in directories


def test_a_file_name_that_is_not_utf8_is_refused_by_zip(tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    bad = os.path.join(os.fsencode(tree), b"bad\xffname.txt")
    with open(bad, "wb") as handle:
        handle.write(b"x")
    with pytest.raises(UsageError) as raised:
        write_zip(tree_entries(str(tree), "app"), str(tmp_path / "app.zip"), DEFAULT_MTIME)
    assert raised.value.message == (
        "b'app/bad\\xffname.txt' is not a UTF-8 file name, which a .zip cannot hold"
    )
