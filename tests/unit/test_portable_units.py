"""The portable runtime's requests, source recognition and cache lookup (no build)."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import time
from pathlib import Path

import pytest

from packager.core.apt import DebianMirrors
from packager.core.context import Context
from packager.core.errors import InterpreterError, RuntimeBuildError, UsageError
from packager.python.portable import BuildOptions, build_runtime
from packager.python.portable.debian import (
    ORIG_LINE,
    library_packages,
    sources_list,
    suite_for,
)
from packager.python.portable.sources import ALL_DEPENDENCIES, find_dependencies, python_source
from packager.python.portable.spec import parse_selector, parse_spec
from packager.python.portable.store import (
    MANIFEST,
    find_runtime,
    find_runtime_interpreter,
    list_runtimes,
)


def test_a_request_names_its_zig_target() -> None:
    spec = parse_spec("3.11", "2.17", "x86_64")
    assert (spec.minor, spec.micro, spec.glibc) == (11, None, (2, 17))
    assert spec.zig_target == "x86_64-linux-gnu.2.17"
    assert spec.accepts("3.11.2") and spec.accepts("3.11.9")
    assert not spec.accepts("3.12.1")
    exact = parse_spec("3.11.2", "2.28", "x86_64")
    assert exact.accepts("3.11.2") and not exact.accepts("3.11.9")


@pytest.mark.parametrize(
    ("python", "glibc", "arch"),
    [("2.7", "2.17", None), ("3", "2.17", None), ("3.11", "2.5", None), ("3.11", "2.17", "mips")],
)
def test_bad_requests_are_usage_errors_with_a_fix(python: str, glibc: str, arch: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_spec(python, glibc, arch)
    assert raised.value.fix


def test_selectors() -> None:
    assert parse_selector("/usr/bin/python3.11") is None
    assert parse_selector("python3.11") is None
    loose = parse_selector("runtime:3.11")
    assert loose is not None and loose.max_glibc is None
    assert loose.accepts("3.11.2", (2, 28), loose.arch)
    strict = parse_selector("runtime:3.11.2@2.17/x86_64")
    assert strict is not None
    assert strict.accepts("3.11.2", (2, 17), "x86_64")
    assert not strict.accepts("3.11.2", (2, 28), "x86_64")  # above the floor asked for
    assert not strict.accepts("3.11.3", (2, 17), "x86_64")
    assert not strict.accepts("3.11.2", (2, 17), "aarch64")


def _write_runtime(
    root: Path, version: str, glibc: str, arch: str = "x86_64", recipe: int = 2
) -> Path:
    name = f"cpython-{version}-{arch}-{glibc}-{recipe}"
    prefix = root / "packager" / "portable-runtimes" / name
    (prefix / "bin").mkdir(parents=True)
    manifest = {"python": version, "glibc": glibc, "arch": arch, "key": "k", "recipe": recipe}
    (prefix / MANIFEST).write_text(json.dumps(manifest))
    return prefix


def test_of_two_equal_entries_the_one_published_last_is_preferred(tmp_path: Path) -> None:
    # The same release, floor and recipe from other sources (a Debian security update).
    first = _write_runtime(tmp_path, "3.11.2", "2.17")
    second = first.with_name("cpython-3.11.2-x86_64-2.17-9")  # sorts last by name
    time.sleep(0.01)
    shutil.copytree(first, second)
    os.utime(second, (0, 0))  # the build's fixed times are no guide
    assert list_runtimes(str(tmp_path / "packager"))[0].prefix == str(second)


def test_the_lookup_prefers_the_newest_release_then_the_lowest_floor(tmp_path: Path) -> None:
    _write_runtime(tmp_path, "3.11.2", "2.28")
    _write_runtime(tmp_path, "3.11.2", "2.17", recipe=1)  # built by an older packager
    lowest = _write_runtime(tmp_path, "3.11.2", "2.17")
    newest = _write_runtime(tmp_path, "3.13.5", "2.17")
    broken = tmp_path / "packager" / "portable-runtimes" / "cpython-3.12.0-x86_64-2.17-k"
    broken.mkdir()  # no manifest: an entry being written, or damaged
    cache = str(tmp_path / "packager")
    assert [r.version for r in list_runtimes(cache)] == ["3.13.5", *["3.11.2"] * 3]
    selector = parse_selector("runtime:3.11@2.30/x86_64")
    assert selector is not None
    assert find_runtime(selector, cache).prefix == str(lowest)
    environ = {"XDG_CACHE_HOME": str(tmp_path), "HOME": "/nonexistent"}
    found = find_runtime_interpreter("runtime:3.13@2.17/x86_64", environ)
    assert found == str(newest / "bin" / "python3.13")
    assert find_runtime_interpreter("/usr/bin/python3", environ) is None
    with pytest.raises(InterpreterError) as missing:
        find_runtime_interpreter("runtime:3.12@2.17/x86_64", environ)
    assert "packager runtime build --python 3.12" in str(missing.value)


def _tarball(path: Path, top: str) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(f"{top}/README")
        archive.addfile(info)
    return path


def test_dependency_tarballs_are_found_by_upstream_and_debian_names(tmp_path: Path) -> None:
    names = [
        "zlib_1.2.13.dfsg.orig.tar.gz",
        "bzip2-1.0.8.tar.gz",
        "xz-utils_5.4.1.orig.tar.gz",
        "libffi-3.4.4.tar.gz",
        "sqlite-autoconf-3400100.tar.gz",
        "util-linux_2.38.1.orig.tar.gz",
        "ncurses-6.4.tar.gz",
        "libedit_3.1-20221030.orig.tar.gz",
        "openssl_3.0.20.orig.tar.gz",
        "openssl_3.0.20.orig.tar.gz.asc",  # a signature, not a tarball
        "x11proto-dev_2022.1-1_all.deb",
        "xtrans-dev_1.4.0-1_all.deb",
        "xcb-proto_1.15.2-1_all.deb",
        "python3-xcbgen_1.15.2-1_all.deb",
        "libxau_1.0.11.orig.tar.gz",
        "libxcb-1.15.tar.xz",
        "libX11-1.8.4.tar.gz",
        "expat_2.5.0.orig.tar.gz",
        "freetype_2.12.1+dfsg.orig.tar.xz",
        "freetype_2.12.1+dfsg.orig-ft2demos.tar.xz",  # a part of Debian's, not the library
        "fontconfig_2.14.1.orig.tar.xz",
        "libxrender_0.9.12.orig.tar.gz",
        "xft_2.3.6.orig.tar.gz",
        "tcl8.6_8.6.13+dfsg.orig.tar.gz",
        "tk8.6_8.6.13.orig.tar.gz",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    found = {archive.component: archive for archive in find_dependencies(str(tmp_path))}
    assert set(found) == {dep.name for dep in ALL_DEPENDENCIES}
    assert found["openssl"].version == "3.0.20"
    assert found["openssl"].path.endswith(".tar.gz")
    assert found["zlib"].version == "1.2.13"
    assert found["libedit"].version == "3.1-20221030"
    assert (found["tcl"].version, found["x11proto"].version) == ("8.6.13+dfsg", "2022.1-1")
    assert found["freetype"].path.endswith("freetype_2.12.1+dfsg.orig.tar.xz")
    (tmp_path / "ncurses-6.4.tar.gz").unlink()
    with pytest.raises(UsageError, match="ncurses"):
        find_dependencies(str(tmp_path))


def test_a_python_source_is_checked_against_the_request_and_the_pins(tmp_path: Path) -> None:
    spec = parse_spec("3.11", "2.17", "x86_64")
    tree = tmp_path / "Python-3.11.4"
    (tree / "Include").mkdir(parents=True)
    (tree / "Include" / "patchlevel.h").write_text('#define PY_VERSION "3.11.4"\n')
    assert python_source(str(tree), spec).version == "3.11.4"
    with pytest.raises(UsageError, match=r"not 3\.12"):
        python_source(str(tree), parse_spec("3.12", "2.17", "x86_64"))
    tampered = _tarball(tmp_path / "Python-3.11.2.tgz", "Python-3.11.2")
    with pytest.raises(UsageError, match="pinned"):
        python_source(str(tampered), spec)
    unpinned = _tarball(tmp_path / "Python-3.11.5.tar.xz", "Python-3.11.5")
    assert python_source(str(unpinned), spec).version == "3.11.5"
    with pytest.raises(UsageError, match="not a CPython"):
        python_source(str(_tarball(tmp_path / "other.tgz", "x")), spec)


def test_debian_sources_come_from_a_suite_with_its_security_updates() -> None:
    spec = parse_spec("3.11", "2.17", "x86_64")
    assert suite_for(spec) == "bookworm"
    assert suite_for(parse_spec("3.13", "2.17", "x86_64")) == "trixie"
    assert "libedit" in library_packages() and "readline" not in library_packages()
    mirrors = DebianMirrors("http://mirror.example/debian", "http://mirror.example/security")
    text = sources_list("bookworm", mirrors)
    assert text.count("deb-src ") == 2 and "bookworm-security" in text
    assert "\ndeb " not in text  # sources only
    with pytest.raises(UsageError, match="--source"):
        suite_for(parse_spec("3.12", "2.17", "x86_64"))
    both = sources_list("bookworm", mirrors, binaries=True)
    assert both.count("deb-src ") == 2 and both.count("\ndeb ") + both.startswith("deb ") == 2


def test_only_release_tarballs_are_taken_from_the_signed_index() -> None:
    digest = "SHA256:" + "ab" * 32
    lines = [
        f"'http://m.example/libxau_1.0.11.orig.tar.gz' libxau_1.0.11.orig.tar.gz 404973 {digest}",
        f"'http://m.example/x.orig.tar.gz.asc' libxau_1.0.11.orig.tar.gz.asc 358 {digest}",
        f"'http://m.example/x.diff.gz' libxau_1.0.11-1.diff.gz 22671 {digest}",
        f"'http://m.example/x.dsc' libxau_1.0.11-1.dsc 1600 {digest}",
        f"'http://m.example/y' ../evil.orig.tar.gz 1 {digest}",
        "'http://m.example/z' tcl8.6_8.6.13+dfsg.orig.tar.gz 1 MD5Sum:0123",
    ]
    found = [m["name"] for line in lines if (m := ORIG_LINE.fullmatch(line))]
    assert found == ["libxau_1.0.11.orig.tar.gz"]


def _fake_tarball(path: Path, top: str, configure: str) -> None:
    """A tarball whose top directory holds an executable `configure` script."""
    with tarfile.open(path, "w:gz") as archive:
        data = configure.encode()
        info = tarfile.TarInfo(f"{top}/configure")
        info.size, info.mode = len(data), 0o755
        archive.addfile(info, io.BytesIO(data))


def test_a_failing_step_is_named_with_the_end_of_its_log(tmp_path: Path) -> None:
    deps = tmp_path / "deps"
    deps.mkdir()
    failing = '#!/bin/sh\necho "checking for a C compiler... no" >&2\nexit 1\n'
    _fake_tarball(deps / "zlib-1.3.1.tar.gz", "zlib-1.3.1", failing)
    for name in ("bzip2-1.0.8", "xz-5.6.2", "libffi-3.4.6", "sqlite-autoconf-3460100"):
        _fake_tarball(deps / f"{name}.tar.gz", name, "#!/bin/sh\nexit 0\n")
    for name in ("util-linux-2.40", "ncurses-6.5", "libedit-20240808-3.1", "openssl-3.0.15"):
        _fake_tarball(deps / f"{name}.tar.gz", name, "#!/bin/sh\nexit 0\n")
    for name in ("libXau-1.0.11", "libxcb-1.15", "libX11-1.8.4", "expat-2.5.0", "freetype-2.12.1"):
        _fake_tarball(deps / f"{name}.tar.gz", name, "#!/bin/sh\nexit 0\n")
    for name in ("fontconfig-2.14.1", "libXrender-0.9.12", "libXft-2.3.6", "tcl8.6-8.6.13"):
        _fake_tarball(deps / f"{name}.tar.gz", name, "#!/bin/sh\nexit 0\n")
    _fake_tarball(deps / "tk8.6-8.6.13.tar.gz", "tk8.6-8.6.13", "#!/bin/sh\nexit 0\n")
    for name in ("x11proto-dev", "xtrans-dev", "xcb-proto", "python3-xcbgen"):
        (deps / f"{name}_1.0-1_all.deb").write_bytes(b"!<arch>\n")
    python = tmp_path / "Python-3.11.9.tgz"
    _fake_tarball(python, "Python-3.11.9", "#!/bin/sh\nexit 0\n")
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    options = BuildOptions(parse_spec("3.11", "2.17"), str(python), str(deps), jobs=1)
    with pytest.raises(RuntimeBuildError) as raised:
        build_runtime(options, Context(environ))
    error = raised.value
    assert "building zlib 1.3.1 failed at 'configure' (exit code 1)" in error.message
    assert "checking for a C compiler... no" in error.message
    assert error.path is not None and error.path.endswith("zlib-configure.log")
    assert Path(error.path).read_text() == "checking for a C compiler... no\n"
    root = tmp_path / "cache" / "packager" / "portable-runtimes"
    assert not [path for path in root.iterdir() if path.name.startswith("cpython-")]
    assert [path.name for path in (root / "work").iterdir() if path.is_dir()] == []
