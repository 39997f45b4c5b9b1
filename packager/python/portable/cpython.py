"""How CPython itself is configured, built and installed into a runtime's prefix.

Shared libpython (which PyO3 picks for a dynamic embed) plus the PIC static
libpython3.X.a that CPython installs beside it in LIBPL; no tests, no PGO or LTO, no
ensurepip. Modules whose libraries are not in the runtime are left out on purpose:
_crypt (libcrypt is not in the manylinux allowlist), nis and dbm/gdbm (GPL). _tkinter
carries Tcl, Tk and Xlib inside it; their script libraries go to the runtime's lib/.
"""

from __future__ import annotations

import os

from packager.python.portable.recipes import Step
from packager.python.portable.spec import RuntimeSpec
from packager.python.portable.tk_recipes import SCRIPT_LIBRARIES, TCLTK_LIBS

# -g is left out of CPython's default OPT: debug info would be most of the runtime's size.
OPT = "-DNDEBUG -fwrapv -O2 -Wall"

# bin/python3.X finds lib/libpython3.X.so.1.0 relative to itself, wherever the prefix is.
# Given to make only, so sysconfig's LINKFORSHARED (read by embedders) stays the default.
LINKFORSHARED = "LINKFORSHARED=-Xlinker -export-dynamic -Wl,-rpath,'$$ORIGIN/../lib'"

# Given to make (so sysconfig keeps configure's values): the rpath above, and no
# libpython3.so, the stable-ABI forwarding library, which zig cannot link from a shared
# library alone; nothing PyO3 or packager builds links it on Linux.
MAKE_OVERRIDES = (LINKFORSHARED, "PY3LIBRARY=")

LEFT_OUT_MODULES = ("_crypt", "nis", "_dbm", "_gdbm")

# CPython 3.11 builds these four with setup.py, which looks for libraries in the host's
# directories; described here, they are built by make against the runtime's own. (makesetup
# reads a line with "=" as a variable assignment: the -D flags carry no values.)
SETUP_LOCAL_311 = """\
*shared*
_ctypes _ctypes/_ctypes.c _ctypes/callbacks.c _ctypes/callproc.c _ctypes/stgdict.c \
_ctypes/cfield.c -DHAVE_FFI_PREP_CIF_VAR -DHAVE_FFI_PREP_CLOSURE_LOC \
-DHAVE_FFI_CLOSURE_ALLOC -lffi -ldl
readline readline.c -ledit -lncursesw
_curses _cursesmodule.c -DHAVE_NCURSESW -lncursesw
_curses_panel _curses_panel.c -DHAVE_NCURSESW -lpanelw -lncursesw
"""

# Modules a runtime must have: the build fails, naming them, if one does not import.
REQUIRED_MODULES = (
    "ssl",
    "_hashlib",
    "sqlite3",
    "ctypes",
    "decimal",
    "lzma",
    "bz2",
    "zlib",
    "readline",
    "_uuid",
    "curses",
    "_curses_panel",
    "pyexpat",
    "_ctypes",
    "_tkinter",
)


def setup_local(spec: RuntimeSpec) -> str | None:
    """The Modules/Setup.local a version needs, or None."""
    return SETUP_LOCAL_311 if spec.minor <= 11 else None


def cross_options(spec: RuntimeSpec, build_python: str | None) -> tuple[str, ...]:
    """What configure needs to build CPython for another architecture: the system names,
    a CPython of the same X.Y that runs here, and the answers it cannot find by running
    programs (every Linux since 2.6 has /dev/ptmx and a working getaddrinfo)."""
    if not spec.cross:
        return ()
    if build_python is None:
        raise ValueError("a cross build of CPython needs a build Python")
    return (
        *spec.cross_options(),
        f"--with-build-python={build_python}",
        "ac_cv_file__dev_ptmx=yes",
        "ac_cv_file__dev_ptc=no",
        "ac_cv_buggy_getaddrinfo=no",
    )


def steps(
    prefix: str, deps: str, jobs: int, spec: RuntimeSpec, build_python: str | None = None
) -> list[Step]:
    """configure and make for CPython (install_step installs it); `build_python`, a CPython
    of the same X.Y for this machine, when `spec` is for another architecture."""
    left_out = tuple(f"py_cv_module_{name}=n/a" for name in LEFT_OUT_MODULES)
    configure = (
        "./configure",
        *cross_options(spec, build_python),
        f"--prefix={prefix}",
        "--enable-shared",
        "--without-ensurepip",
        "--disable-test-modules",
        "--with-lto=no",
        f"--with-openssl={deps}",
        "--with-readline=editline",
        "--with-system-libmpdec=no",
        "--with-system-expat=no",
        f"OPT={OPT}",
        # Static libraries list what they need themselves: pkg-config's short form
        # (without Libs.private) is not enough for these two.
        "LIBEDIT_LIBS=-ledit -lncursesw",
        "PANEL_LIBS=-lpanelw -lncursesw",
        f"TCLTK_CFLAGS=-I{deps}/include",
        f"TCLTK_LIBS={TCLTK_LIBS}",
        *left_out,
    )
    return [
        Step("configure", configure),
        Step("make", ("make", f"-j{jobs}", *MAKE_OVERRIDES)),
    ]


def install_step(destdir: str) -> Step:
    """make install into `destdir` (serial: CPython's install rules are; compileall is not)."""
    return Step("install", ("make", "install", f"DESTDIR={destdir}", *MAKE_OVERRIDES))


def script_libraries_step(deps: str, destdir: str, prefix: str) -> Step:
    """Copy Tcl's and Tk's script libraries into the installed runtime's lib/, where Tcl
    finds them relative to the interpreter wherever the runtime is."""
    sources = [os.path.join(deps, "lib", name) for name in SCRIPT_LIBRARIES]
    target = destdir + os.path.join(prefix, "lib") + "/"
    return Step("install-tcltk", ("cp", "-R", *sources, target))
