"""Mach-O reader and dyld resolution on small hand-assembled images, for the corners a linker
will not produce on demand (tests/integration reads real files from build_fixtures.sh)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from packager.binary import ResolveContext, macho
from packager.binary.macho_loader import resolve
from packager.binary.model import BinaryFormat, BinaryKind, ParsedBinary, PythonSymbolTable

FRAMEWORK = "@rpath/Python3.framework/Versions/3.11/Python3"
LIBSYSTEM = "/usr/lib/libSystem.B.dylib"
HELPER = "@loader_path/../lib/libhelper.dylib"
APP_PY_NEEDED = ("PyRun_SimpleString", "Py_FinalizeEx", "Py_Initialize", "_Py_Dealloc")

LC_LOAD_DYLIB = 0xC
LC_ID_DYLIB = 0xD
LC_LOAD_WEAK_DYLIB = 0x80000018
LC_REEXPORT_DYLIB = 0x8000001F
LC_LAZY_LOAD_DYLIB = 0x20
LC_RPATH = 0x8000001C
LC_SYMTAB = 0x2
N_EXT, N_PEXT, N_SECT, N_STAB_FUN = 0x01, 0x10, 0x0E, 0x24


# ------------------------------------------------------------ hand-assembled images


def _padded(text: str, align: int = 8) -> bytes:
    raw = text.encode() + b"\0"
    return raw + b"\0" * (-len(raw) % align)


def dylib_command(cmd: int, name: str, endian: str = "<") -> bytes:
    """A dylib_command (LC_LOAD_DYLIB and friends, LC_ID_DYLIB) naming `name`."""
    body = _padded(name)
    return struct.pack(endian + "IIIIII", cmd, 24 + len(body), 24, 0, 0, 0) + body


def rpath_command(path: str, endian: str = "<") -> bytes:
    body = _padded(path)
    return struct.pack(endian + "III", LC_RPATH, 12 + len(body), 12) + body


def macho_image(
    commands: list[bytes],
    *,
    symbols: Sequence[tuple[str, int, int]] = (),
    filetype: int = 2,
    cputype: int = 0x01000007,
    cpusubtype: int = 3,
    is_64: bool = True,
    endian: str = "<",
    ncmds: int | None = None,
) -> bytes:
    """A thin Mach-O: header, the given load commands, and an LC_SYMTAB for `symbols`
    given as (name, n_type, n_value)."""
    header_size = 32 if is_64 else 28
    strings = b"\0"
    entries = b""
    if symbols:
        for name, n_type, value in symbols:
            fmt = "IBBHQ" if is_64 else "IBBHI"
            entries += struct.pack(endian + fmt, len(strings), n_type, 1, 0, value)
            strings += name.encode() + b"\0"
        symtab_size = 24
        commands_size = sum(map(len, commands)) + symtab_size
        symoff = header_size + commands_size
        stroff = symoff + len(entries)
        commands = [
            *commands,
            struct.pack(
                endian + "IIIIII", LC_SYMTAB, 24, symoff, len(symbols), stroff, len(strings)
            ),
        ]
    body = b"".join(commands)
    count = len(commands) if ncmds is None else ncmds
    magic = 0xFEEDFACF if is_64 else 0xFEEDFACE
    header = struct.pack(
        endian + "IIIIIII", magic, cputype, cpusubtype, filetype, count, len(body), 0
    )
    if is_64:
        header += b"\0\0\0\0"
    return header + body + entries + strings


def fat_file(*slices: bytes, is_64: bool = False) -> bytes:
    """A universal file holding `slices`, each aligned to 4 KiB like lipo does."""
    offset = 4096
    table = b""
    payload = b""
    for piece in slices:
        cputype, cpusubtype = struct.unpack_from("<II", piece, 4)
        if is_64:
            table += struct.pack(">IIQQII", cputype, cpusubtype, offset, len(piece), 12, 0)
        else:
            table += struct.pack(">IIIII", cputype, cpusubtype, offset, len(piece), 12)
        padded = piece + b"\0" * (-len(piece) % 4096)
        payload += padded
        offset += len(padded)
    header = struct.pack(">II", 0xCAFEBABF if is_64 else 0xCAFEBABE, len(slices)) + table
    return header + b"\0" * (4096 - len(header)) + payload


# --------------------------------------------------------------------- unit tests


def test_load_commands_in_order_with_every_load_kind() -> None:
    image = macho_image(
        [
            dylib_command(LC_LOAD_DYLIB, LIBSYSTEM),
            rpath_command("@loader_path/../lib"),
            dylib_command(LC_LOAD_WEAK_DYLIB, "@rpath/libweak.dylib"),
            dylib_command(LC_REEXPORT_DYLIB, "/opt/re/libre.dylib"),
            dylib_command(LC_LAZY_LOAD_DYLIB, "@executable_path/liblazy.dylib"),
            rpath_command("/opt/lib"),
            dylib_command(LC_ID_DYLIB, "@rpath/libme.dylib"),
        ],
        filetype=6,
    )
    (parsed,) = macho.parse("lib.dylib", image)
    assert parsed.needed == (
        LIBSYSTEM,
        "@rpath/libweak.dylib",
        "/opt/re/libre.dylib",
        "@executable_path/liblazy.dylib",
    )
    assert parsed.rpaths == ("@loader_path/../lib", "/opt/lib")
    assert parsed.soname == "@rpath/libme.dylib"
    assert parsed.kind is BinaryKind.SHARED_LIBRARY
    assert (parsed.runpath, parsed.universal, parsed.slice_index) == (False, False, None)


def test_symbols_classified_and_one_underscore_stripped() -> None:
    image = macho_image(
        [],
        symbols=[
            ("_Py_Initialize", N_SECT | N_EXT, 0x1000),
            ("__Py_Dealloc", N_SECT | N_EXT, 0x1010),
            ("_PyInit_spam", N_SECT | N_EXT, 0x1020),
            ("__PyPrivate", N_SECT | N_EXT | N_PEXT, 0x1030),
            ("_PyStatic", N_SECT, 0x1040),
            ("_PyLong_FromLong", N_EXT, 0),
            ("_PyStab", N_STAB_FUN, 0x1050),
            ("_main", N_SECT | N_EXT, 0x1060),
            ("Py_NoUnderscore", N_SECT | N_EXT, 0x1070),
        ],
    )
    (parsed,) = macho.parse("a.out", image)
    assert parsed.symbols == PythonSymbolTable(
        exported=("PyInit_spam", "Py_Initialize", "_Py_Dealloc"),
        needed=("PyLong_FromLong",),
        local=("PyStatic", "_PyPrivate"),
        pyinit=("PyInit_spam",),
    )


@pytest.mark.parametrize(
    ("cputype", "cpusubtype", "is_64", "endian", "arch"),
    [
        (7, 3, False, "<", "i386"),
        (0x01000007, 3, True, "<", "x86_64"),
        (0x0100000C, 0, True, "<", "arm64"),
        (0x0100000C, 0x80000002, True, "<", "arm64e"),  # pointer-auth ABI bit set
        (12, 9, False, "<", "armv7"),
        (18, 0, False, ">", "ppc"),
        (0x01000012, 0, True, ">", "ppc64"),
    ],
)
def test_arch_names(cputype: int, cpusubtype: int, is_64: bool, endian: str, arch: str) -> None:
    image = macho_image(
        [dylib_command(LC_LOAD_DYLIB, LIBSYSTEM, endian)],
        symbols=[("_Py_Main", N_SECT | N_EXT, 0x40)],
        cputype=cputype,
        cpusubtype=cpusubtype,
        is_64=is_64,
        endian=endian,
    )
    (parsed,) = macho.parse("a.out", image)
    assert parsed.arch == arch
    assert parsed.needed == (LIBSYSTEM,)
    assert parsed.symbols.exported == ("Py_Main",)


@pytest.mark.parametrize("is_64", [False, True])
def test_hand_made_universal_file(is_64: bool) -> None:
    x86 = macho_image([dylib_command(LC_LOAD_DYLIB, "/usr/lib/libA.dylib")])
    arm = macho_image([dylib_command(LC_LOAD_DYLIB, "/usr/lib/libB.dylib")], cputype=0x0100000C)
    slices = macho.parse("fat", fat_file(x86, arm, is_64=is_64))
    assert [(s.arch, s.needed, s.slice_index, s.universal) for s in slices] == [
        ("x86_64", ("/usr/lib/libA.dylib",), 0, True),
        ("arm64", ("/usr/lib/libB.dylib",), 1, True),
    ]


@pytest.mark.parametrize(
    ("filetype", "kind"),
    [
        (1, BinaryKind.OBJECT),
        (2, BinaryKind.EXECUTABLE),
        (6, BinaryKind.SHARED_LIBRARY),
        (8, BinaryKind.MACHO_BUNDLE),
        (7, BinaryKind.OTHER),  # MH_DYLINKER
    ],
)
def test_kind_from_filetype(filetype: int, kind: BinaryKind) -> None:
    assert macho.parse("f", macho_image([], filetype=filetype))[0].kind is kind


def _parsed(needed: tuple[str, ...], rpaths: tuple[str, ...], kind: BinaryKind) -> ParsedBinary:
    return ParsedBinary(
        format=BinaryFormat.MACHO,
        arch="arm64",
        kind=kind,
        needed=needed,
        rpaths=rpaths,
        runpath=False,
        symbols=PythonSymbolTable(),
    )


def test_resolution_rules_on_a_laid_out_tree(tmp_path: Path) -> None:
    (tmp_path / "app" / "lib").mkdir(parents=True)
    (tmp_path / "app" / "lib" / "libexe.dylib").write_bytes(b"x")
    (tmp_path / "opt" / "lib").mkdir(parents=True)
    (tmp_path / "opt" / "lib" / "libabs.dylib").write_bytes(b"x")
    (tmp_path / "opt" / "lib" / "librp.dylib").write_bytes(b"x")
    needed = (
        "@executable_path/lib/libexe.dylib",
        "/opt/lib/libabs.dylib",  # absolute: looked up under context.root
        "@rpath/librp.dylib",  # found through the second rpath, an absolute one
        "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation",
        "librelative.dylib",  # relative to an unknown current directory
        "@rpath/libmissing.dylib",
    )
    rpaths = ("@loader_path/nowhere", "/opt/lib")
    binary = str(tmp_path / "app" / "prog")
    context = ResolveContext(root=str(tmp_path))

    as_executable = resolve(_parsed(needed, rpaths, BinaryKind.EXECUTABLE), binary, context)
    assert [(n.resolved_path, n.system) for n in as_executable] == [
        (str(tmp_path / "app" / "lib" / "libexe.dylib"), False),
        (str(tmp_path / "opt" / "lib" / "libabs.dylib"), False),
        (str(tmp_path / "opt" / "lib" / "librp.dylib"), False),
        (None, True),
        (None, False),
        (None, False),
    ]
    # In a dylib or bundle, @executable_path means a program the file does not name.
    as_bundle = resolve(_parsed(needed, rpaths, BinaryKind.MACHO_BUNDLE), binary, context)
    assert as_bundle[0].resolved_path is None
    assert as_bundle[1].resolved_path == as_executable[1].resolved_path
