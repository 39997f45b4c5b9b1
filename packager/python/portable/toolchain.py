"""zig as the C compiler, archiver and linker of a runtime, pinned to a glibc floor.

Every build step sees `cc`, `ar` and `ranlib` first on PATH: small scripts that
call zig with the target (`x86_64-linux-gnu.2.17`), so zig links against that glibc's
symbol set and never sees the host's headers or libraries. Flags that only matter while
building (the dependencies' prefix, the file-prefix map) live in the scripts too, so they
stay out of the runtime's sysconfig, which later builds against the runtime read.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core import runner
from packager.core.errors import ToolError
from packager.python.portable.spec import RuntimeSpec

ZIG_FIX = (
    "install ziglang (a dependency of pyo3-packager) into the environment packager runs "
    f"from: {sys.executable} -m pip install ziglang; or put zig on PATH"
)

# Where build paths are mapped to in anything the compiler writes (__FILE__, debug info).
MAPPED_BUILD_DIR = "/build"


@dataclass(frozen=True)
class Zig:
    """A zig executable and the version it reports."""

    path: str
    version: str


def find_zig(environ: Mapping[str, str]) -> Zig:
    """zig from the ziglang package of the running interpreter, else `zig` on PATH."""
    path: str | None = None
    spec = importlib.util.find_spec("ziglang")
    if spec is not None and spec.submodule_search_locations:
        candidate = os.path.join(next(iter(spec.submodule_search_locations)), "zig")
        path = candidate if os.access(candidate, os.X_OK) else None
    path = path or runner.which("zig", environ)
    if path is None:
        raise ToolError("zig was not found (it compiles runtimes for old glibc)", fix=ZIG_FIX)
    result = runner.run([path, "version"], environ=dict(environ))
    return Zig(path, result.stdout.strip())


def write_wrappers(zig: Zig, spec: RuntimeSpec, bin_dir: str, work: str, deps: str) -> None:
    """Write cc, ar, ranlib, build-cc (this machine's compiler) and a refusing
    dpkg-architecture into `bin_dir`."""
    os.makedirs(bin_dir, exist_ok=True)
    common = [
        "-target",
        spec.zig_target,
        # zig turns UBSan on when no -O is given (configure's probes); never in a runtime.
        "-fno-sanitize=undefined",
        f"-ffile-prefix-map={work}={MAPPED_BUILD_DIR}",
    ]
    # The dependencies come after the caller's flags, so a build's own -I and -L win.
    trailing = [
        f"-I{deps}/include",
        f"-I{deps}/include/ncursesw",
        f"-L{deps}/lib",
        "-Wno-unused-command-line-argument",
        # zig emits DWARF even at -O2; a runtime ships none (it was most of its size).
        "-g0",
        "-Wl,--strip-debug",
        # zig makes __DATE__ an error; clang takes its value from SOURCE_DATE_EPOCH, which
        # every step has, so CPython's build date is reproducible.
        "-Wno-date-time",
    ]
    scripts = {
        "cc": _compiler(zig.path, "cc", common, trailing),
        "ar": f'#!/bin/sh\nexec {shlex.quote(zig.path)} ar "$@"\n',
        "ranlib": f'#!/bin/sh\nexec {shlex.quote(zig.path)} ranlib "$@"\n',
        # For programs a cross build runs while building (ncurses' table generators).
        "build-cc": f'#!/bin/sh\nexec {shlex.quote(zig.path)} cc "$@"\n',
        # CPython 3.11's setup.py adds the host's multiarch include directory, whose glibc
        # headers must not mix with zig's; it asks dpkg-architecture, and this one fails.
        "dpkg-architecture": "#!/bin/sh\nexit 1\n",
    }
    for name, text in scripts.items():
        path = os.path.join(bin_dir, name)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(path, 0o755)


def _compiler(zig: str, mode: str, common: list[str], trailing: list[str]) -> str:
    head = " ".join(shlex.quote(arg) for arg in [zig, mode, *common])
    tail = " ".join(shlex.quote(arg) for arg in trailing)
    # Two arguments are rewritten on the way: -print-multiarch, which setup.py asks for the
    # host's multiarch directory, fails (zig would answer with nothing, and setup.py would
    # ask dpkg-architecture); CPython's -Wl,-hSONAME becomes the -soname zig understands.
    return (
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        "  shift\n"
        '  case "$arg" in\n'
        "    -print-multiarch) exit 1 ;;\n"
        '    -Wl,-h*) arg="-Wl,-soname,${arg#-Wl,-h}" ;;\n'
        "  esac\n"
        '  set -- "$@" "$arg"\n'
        "done\n"
        f'exec {head} "$@" {tail}\n'
    )


def build_environment(
    environ: Mapping[str, str], *, bin_dir: str, work: str, deps: str, epoch: int
) -> dict[str, str]:
    """The environment every build step runs with: the wrappers first, nothing of the host's
    compiler settings, a fixed locale, time zone and SOURCE_DATE_EPOCH."""
    env = {key: environ[key] for key in ("HOME", "TMPDIR") if key in environ}
    env.update(
        PATH=os.pathsep.join([bin_dir, environ.get("PATH", "/usr/bin:/bin")]),
        CC="cc",
        # Nothing here is C++: "no" keeps configure scripts from probing a C++ compiler
        # (zig would build its libc++ just for the probe).
        CXX="no",
        AR="ar",
        RANLIB="ranlib",
        LC_ALL="C",
        TZ="UTC",
        SOURCE_DATE_EPOCH=str(epoch),
        ZIG_GLOBAL_CACHE_DIR=os.path.join(os.path.dirname(work), "zig-cache"),
        ZIG_LOCAL_CACHE_DIR=os.path.join(work, "zig-local"),
        # Only the dependencies' .pc files: a host library found here would be linked.
        PKG_CONFIG_LIBDIR=os.path.join(deps, "lib", "pkgconfig"),
        PKG_CONFIG_PATH="",
    )
    return env


def write_linker(zig: Zig, arch: str, glibc: str, directory: str) -> str:
    """A `cc` for rustc's -C linker that links against glibc `glibc`'s symbol set, so
    the program runs on every system from that glibc on; its path."""
    os.makedirs(directory, exist_ok=True)
    target = f"{arch}-linux-gnu.{glibc}"
    # Two of rustc's arguments are rewritten: an archive it passes as -Wl,FILE.a (a
    # whole-archive link) goes to zig as a file; -Wl,--strip-debug, which zig takes for
    # stripping everything, is dropped so the symbol table (PyInit_*) stays for `check`.
    text = (
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        "  shift\n"
        '  case "$arg" in\n'
        "    -Wl,--strip-debug) continue ;;\n"
        '    -Wl,*.a) arg="${arg#-Wl,}" ;;\n'
        "  esac\n"
        '  set -- "$@" "$arg"\n'
        "done\n"
        f'exec {shlex.quote(zig.path)} cc -target {target} "$@"\n'
    )
    # Named after what it does, so a changed wrapper is a changed -C linker: cargo relinks.
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = os.path.join(directory, f"zig-cc-{target}-{digest}")
    scratch = f"{path}.{os.getpid()}"
    with open(scratch, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.chmod(scratch, 0o755)
    os.replace(scratch, path)
    return path
