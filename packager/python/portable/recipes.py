"""How each library is configured and built: static, position-independent, no programs.

A recipe is data: the commands to run in the unpacked source, in order. Every library is
installed into one private prefix (`deps`) as a PIC static archive only, so the extension
modules that link it carry it inside and need nothing outside the manylinux allowlist.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from packager.core.errors import UsageError
from packager.python.portable.spec import RuntimeSpec
from packager.targets.machines import machine

# -O2 without -g: no debug info to carry, nothing of the build tree recorded.
CFLAGS = "-O2 -fPIC"


@dataclass(frozen=True)
class Step:
    """One command of a recipe, run in the top directory of the unpacked source."""

    label: str  # "configure", "make", "install": names the log and the error
    argv: tuple[str, ...]


def autotools(
    deps: str, jobs: int, spec: RuntimeSpec, *options: str, targets: tuple[str, ...] = ()
) -> list[Step]:
    configure = (
        "./configure",
        *spec.cross_options(),
        f"--prefix={deps}",
        "--libdir=" + os.path.join(deps, "lib"),
        "--disable-shared",
        "--enable-static",
        "--with-pic",
        f"CFLAGS={CFLAGS}",
        *options,
    )
    return [
        Step("configure", configure),
        Step("make", ("make", f"-j{jobs}", *targets)),
        Step("install", ("make", "install")),
    ]


def zlib(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """zlib: its own configure script, static only."""
    return [
        Step(
            "configure", ("env", f"CFLAGS={CFLAGS}", "./configure", f"--prefix={deps}", "--static")
        ),
        Step("make", ("make", f"-j{jobs}", "libz.a")),
        Step("install", ("make", "install")),
    ]


def bzip2(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """bzip2: a plain Makefile; the library, its header and a .pc file copied by hand."""
    pc = textwrap.dedent(
        f"""\
        prefix={deps}
        libdir=${{prefix}}/lib
        includedir=${{prefix}}/include

        Name: bzip2
        Description: bzip2 compression library
        Version: 1.0.8
        Libs: -L${{libdir}} -lbz2
        Cflags: -I${{includedir}}
        """
    )
    install = (
        f"mkdir -p {deps}/lib/pkgconfig {deps}/include"
        f" && cp libbz2.a {deps}/lib/ && cp bzlib.h {deps}/include/"
        f" && printf '%s' '{pc}' > {deps}/lib/pkgconfig/bzip2.pc"
    )
    make_flags = ("CC=cc", "AR=ar", "RANLIB=ranlib", f"CFLAGS={CFLAGS} -D_FILE_OFFSET_BITS=64")
    return [
        Step("make", ("make", f"-j{jobs}", "libbz2.a", *make_flags)),
        Step("install", ("sh", "-c", install)),
    ]


def xz(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """xz: liblzma only."""
    return autotools(
        deps,
        jobs,
        spec,
        "--disable-xz",
        "--disable-xzdec",
        "--disable-lzmadec",
        "--disable-lzmainfo",
        "--disable-lzma-links",
        "--disable-scripts",
        "--disable-doc",
        "--disable-nls",
    )


def libffi(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """libffi: into lib/, not lib64/ (multi-os-directory).

    Its static trampolines do not compile with clang 16+ in 3.4.4 (an undeclared
    function); the classic closures they replace are what CPython has always used.
    """
    return autotools(
        deps,
        jobs,
        spec,
        "--disable-docs",
        "--disable-multi-os-directory",
        "--disable-exec-static-tramp",
    )


def sqlite(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """SQLite with the features CPython's own builds enable (FTS, JSON, R*Tree)."""
    features = (
        "-DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_FTS4"
        " -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE -DSQLITE_ENABLE_DBSTAT_VTAB"
        " -DSQLITE_ENABLE_MATH_FUNCTIONS"
    )
    steps = autotools(
        deps,
        jobs,
        spec,
        "--disable-tcl",
        "--disable-readline",
        "--enable-threadsafe",
        targets=("libsqlite3.la",),
    )
    configure = steps[0]
    patched = tuple(
        f"CFLAGS={CFLAGS} {features}" if arg.startswith("CFLAGS=") else arg
        for arg in configure.argv
    )
    # The amalgamation tarball is automake's; the full source's own Makefile would build
    # the sqlite3 shell for `make install`, which a runtime does not ship.
    full_source = (
        f"make lib_install sqlite3.h sqlite3.pc && mkdir -p {deps}/include {deps}/lib/pkgconfig"
        f" && cp sqlite3.h src/sqlite3ext.h {deps}/include/ && cp sqlite3.pc {deps}/lib/pkgconfig/"
    )
    install = (
        "if [ -f src/sqlite3ext.h ]; then " + full_source + "; else "
        "make install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA; fi"
    )
    return [Step("configure", patched), steps[1], Step("install", ("sh", "-c", install))]


def libuuid(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """util-linux's libuuid, and nothing else of util-linux."""
    return autotools(
        deps,
        jobs,
        spec,
        "--disable-all-programs",
        "--enable-libuuid",
        "--disable-nls",
        "--disable-bash-completion",
        "--disable-asciidoc",
        "--disable-poman",
        "--without-python",
        "--without-systemd",
        "--without-udev",
        "--without-tinfo",
        "--without-ncurses",
        "--without-readline",
        "--without-libz",
        "--without-cryptsetup",
    )


def ncurses(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """ncursesw (wide characters), with panel; the terminfo database is the host's."""
    return [
        Step(
            "configure",
            (
                "./configure",
                *spec.cross_options(),
                # Its build makes small programs that run here (make_hash, make_keys).
                *(("--with-build-cc=build-cc",) if spec.cross else ()),
                f"--prefix={deps}",
                f"CFLAGS={CFLAGS}",
                "--without-shared",
                "--without-debug",
                "--without-ada",
                "--without-cxx",
                "--without-cxx-binding",
                "--without-manpages",
                "--without-progs",
                "--without-tests",
                "--enable-widec",
                "--enable-pc-files",
                f"--with-pkg-config-libdir={deps}/lib/pkgconfig",
                "--disable-db-install",
                "--with-terminfo-dirs=/etc/terminfo:/lib/terminfo:/usr/share/terminfo",
                "--with-default-terminfo-dir=/usr/share/terminfo",
            ),
        ),
        Step("make", ("make", f"-j{jobs}")),
        # libedit's configure looks for -lncurses only; the wide build is a superset.
        Step(
            "install", ("sh", "-c", f"make install && ln -sf libncursesw.a {deps}/lib/libncurses.a")
        ),
    ]


def libedit(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """libedit over ncursesw (for tgetent)."""
    return autotools(
        deps,
        jobs,
        spec,
        "--disable-examples",
        f"CPPFLAGS=-I{deps}/include/ncursesw",
    )


def openssl(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """OpenSSL 3: libssl and libcrypto only; certificates found where Debian keeps them."""
    configure = (
        "perl",
        "./Configure",
        openssl_target(spec),
        f"--prefix={deps}",
        "--libdir=lib",
        "--openssldir=/etc/ssl",
        "no-shared",
        "no-module",
        "no-tests",
        "no-engine",
        "no-comp",
        "no-ssl3",
        "no-weak-ssl-ciphers",
        "no-legacy",
        "-fPIC",
        "-O2",
    )
    return [
        Step("configure", configure),
        Step("make", ("make", f"-j{jobs}", "build_libs")),
        Step("install", ("make", "install_dev")),
    ]


Recipe = Callable[[str, int, RuntimeSpec], list[Step]]

RECIPES: dict[str, Recipe] = {
    "zlib": zlib,
    "bzip2": bzip2,
    "xz": xz,
    "libffi": libffi,
    "sqlite": sqlite,
    "libuuid": libuuid,
    "ncurses": ncurses,
    "libedit": libedit,
    "openssl": openssl,
}


def openssl_target(spec: RuntimeSpec) -> str:
    """OpenSSL's name for the Linux target of `spec`."""
    target = machine(spec.arch).openssl
    if target is None:
        raise UsageError(f"no OpenSSL build recipe for {spec.arch}")
    return target
