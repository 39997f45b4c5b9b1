"""How tkinter's libraries are built: Xlib over XCB, Xft over fontconfig and FreeType,
then Tcl and Tk; static and PIC, all linked into _tkinter.

Tk draws text with Xft, as distributions build it: with the system's fonts through its
fontconfig (`/etc/fonts`), and with the font a bundle ships where there is none. The
headers and XCB's protocol descriptions come as Debian data packages (`debian_data`).
"""

from __future__ import annotations

import os
import sys

from packager.python.portable.recipes import CFLAGS, Step, autotools
from packager.python.portable.spec import RuntimeSpec

# The script libraries Tcl and Tk install beside their archives, which a runtime carries
# in its lib/ (where Tcl looks relative to the interpreter): Tcl's, Tk's, Tcl's modules.
SCRIPT_LIBRARIES = ("tcl8.6", "tk8.6", "tcl8")
# What _tkinter links, in order: static archives list none of their own needs.
TCLTK_LIBS = (
    "-ltk8.6 -ltcl8.6 -lXft -lfontconfig -lfreetype -lexpat -lXrender -lX11 -lxcb -lXau"
    " -lpthread -ldl -lz -lm"
)

# glibc's malloc(0) returns a pointer: said up front, since a cross build cannot run the
# program that would find out.
_MALLOC0 = "--disable-malloc0returnsnull"

# A data package unpacked: headers, the .pc files (pointed at the prefix), XCB's protocol
# descriptions and their Python code generator.
_DATA_SCRIPT = r"""set -e
d=$1
mkdir -p "$d/include" "$d/share" "$d/lib/pkgconfig" "$d/lib/python"
if [ -d usr/include ]; then cp -R usr/include/. "$d/include/"; fi
if [ -d usr/share/xcb ]; then cp -R usr/share/xcb "$d/share/"; fi
if [ -d usr/lib/python3/dist-packages ]; then
  cp -R usr/lib/python3/dist-packages/. "$d/lib/python/"
fi
for pc in usr/share/pkgconfig/*.pc; do
  [ -f "$pc" ] || continue
  sed -e "s#^prefix=/usr\$#prefix=$d#" -e "s#^pythondir=.*#pythondir=$d/lib/python#" \
    "$pc" > "$d/lib/pkgconfig/${pc##*/}"
done
"""


def debian_data(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """Copy a data package's headers, .pc files and XCB descriptions into `deps`."""
    return [Step("install", ("sh", "-c", _DATA_SCRIPT, "sh", deps))]


def libxau(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """libXau: reads the X authority file (the display's cookie)."""
    return autotools(deps, jobs, spec)


def libxcb(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """libxcb, its C code generated from the protocol descriptions by the Python running
    packager (any Python 3 does: it only writes source files)."""
    return autotools(
        deps, jobs, spec, f"PYTHON={sys.executable}", "--disable-devel-docs", "--without-doxygen"
    )


def libx11(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """Xlib over XCB; its key table generator runs here, built by this machine's compiler."""
    return autotools(
        deps,
        jobs,
        spec,
        "--disable-specs",
        "--without-xmlto",
        "--without-fop",
        "--without-xsltproc",
        "--disable-xf86bigfont",
        "--disable-loadable-i18n",
        "--disable-loadable-xcursor",
        _MALLOC0,
        *(("CC_FOR_BUILD=build-cc",) if spec.cross else ()),
    )


# expat's library is three C files: compiled here with a fixed configuration, since the
# Debian tarball is the project's repository (no configure script; autotools or cmake
# would be needed to make one). Both architectures are little-endian; glibc 2.17 has no
# getrandom(), so the system call is used.
_EXPAT_SCRIPT = r"""set -e
d=$1
if [ -d expat ]; then cd expat; fi
cat > expat_config.h <<'H'
#define XML_CONTEXT_BYTES 1024
#define XML_DTD 1
#define XML_GE 1
#define XML_NS 1
#define XML_DEV_URANDOM 1
#define HAVE_SYSCALL_GETRANDOM 1
#define HAVE_FCNTL_H 1
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_UNISTD_H 1
#define HAVE_MMAP 1
#define BYTEORDER 1234
H
for f in xmlparse xmlrole xmltok; do
  cc -O2 -fPIC -DHAVE_EXPAT_CONFIG_H -I. -Ilib -c "lib/$f.c" -o "lib/$f.o"
done
ar rcs libexpat.a lib/xmlparse.o lib/xmlrole.o lib/xmltok.o
mkdir -p "$d/lib/pkgconfig" "$d/include"
cp libexpat.a "$d/lib/"
cp lib/expat.h lib/expat_external.h "$d/include/"
cat > "$d/lib/pkgconfig/expat.pc" <<H
prefix=$d
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: expat
Description: XML parser
Version: 2
Libs: -L\${libdir} -lexpat
Cflags: -I\${includedir}
H
"""


def expat(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """expat, for fontconfig (CPython keeps its own copy)."""
    return [Step("build", ("sh", "-c", _EXPAT_SCRIPT, "sh", deps))]


def freetype(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """FreeType over zlib only: no PNG glyphs, HarfBuzz or Brotli (WOFF2)."""
    return autotools(
        deps,
        jobs,
        spec,
        "--with-zlib=yes",
        "--with-bzip2=no",
        "--with-png=no",
        "--with-harfbuzz=no",
        "--with-brotli=no",
        # Its build runs a small program of its own (apinames), made by this compiler.
        *(("CC_BUILD=build-cc",) if spec.cross else ()),
    )


def fontconfig(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """fontconfig reading the system's configuration (/etc/fonts) and cache (/var/cache):
    only the library, its headers and .pc file are installed, never anything into /etc."""
    steps = autotools(
        deps,
        jobs,
        spec,
        "--sysconfdir=/etc",
        "--localstatedir=/var",
        "--with-default-fonts=/usr/share/fonts",
        "--disable-docs",
        "--disable-nls",
        "--disable-cache-build",
    )
    install = "make -C src install && make -C fontconfig install && make install-pkgconfigDATA"
    return [
        steps[0],
        Step("make", ("make", "-C", "src", f"-j{jobs}")),
        Step("install", ("sh", "-c", install)),
    ]


def libxrender(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """libXrender, the RENDER extension Xft draws with."""
    return autotools(deps, jobs, spec, _MALLOC0)


def libxft(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """libXft: antialiased text from fontconfig's fonts."""
    return autotools(deps, jobs, spec, _MALLOC0)


# Tk asks `pkg-config` itself (not $PKG_CONFIG) for Xft's flags, without --static, which
# static libraries need: a pkg-config first on PATH adds it.
_UNIX_CONFIGURE = r"""real=$(command -v pkg-config)
mkdir -p .static-pkg-config
printf '#!/bin/sh\nexec %s --static "$@"\n' "$real" > .static-pkg-config/pkg-config
chmod +x .static-pkg-config/pkg-config
PATH="$PWD/.static-pkg-config:$PATH"
cd unix && exec ./configure "$@"
"""


def _unix_configure(deps: str, spec: RuntimeSpec, *options: str) -> Step:
    argv = (
        "sh",
        "-c",
        _UNIX_CONFIGURE,
        "sh",
        *spec.cross_options(),
        f"--prefix={deps}",
        "--libdir=" + os.path.join(deps, "lib"),
        "--disable-shared",
        "--enable-threads",
        f"CFLAGS={CFLAGS}",
        *options,
    )
    return Step("configure", argv)


# The archive, its headers and its script library; not the manual pages.
_UNIX_INSTALL = ("make", "-C", "unix", "install-binaries", "install-libraries", "install-headers")


def tcl(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """Tcl, threaded; its time zones and clock messages copied (its own installer for them
    runs the tclsh it built, which a cross build cannot run)."""
    copy = ("sh", "-c", 'cp -R library/tzdata library/msgs "$1/lib/tcl8.6/"', "sh", deps)
    return [
        _unix_configure(deps, spec),
        Step("make", ("make", "-C", "unix", f"-j{jobs}")),
        Step("install", _UNIX_INSTALL),
        Step("install-data", copy),
    ]


def tk(deps: str, jobs: int, spec: RuntimeSpec) -> list[Step]:
    """Tk over Xlib, drawing text with Xft; no screen saver extension."""
    lib = os.path.join(deps, "lib")
    return [
        _unix_configure(
            deps,
            spec,
            f"--with-tcl={lib}",
            f"--x-includes={os.path.join(deps, 'include')}",
            f"--x-libraries={lib}",
            "--enable-xft",
            "--disable-xss",
            "LIBS=-lX11 -lxcb -lXau",
        ),
        Step("make", ("make", "-C", "unix", f"-j{jobs}")),
        Step("install", _UNIX_INSTALL),
    ]


GUI_RECIPES = {
    "x11proto": debian_data,
    "xtrans": debian_data,
    "xcb-proto": debian_data,
    "xcbgen": debian_data,
    "libxau": libxau,
    "libxcb": libxcb,
    "libx11": libx11,
    "expat": expat,
    "freetype": freetype,
    "fontconfig": fontconfig,
    "libxrender": libxrender,
    "libxft": libxft,
    "tcl": tcl,
    "tk": tk,
}
