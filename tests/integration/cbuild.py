"""Build small real C subjects (executables, libraries, extension modules) for the tests."""

from __future__ import annotations

import subprocess
import sysconfig
from pathlib import Path

# Debian's python3.11 development files: headers and a PIC static libpython.
DEBIAN_INCLUDE = "/usr/include/python3.11"
DEBIAN_PIC_ARCHIVE = "/usr/lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11-pic.a"
DEBIAN_LIBS = ["-ldl", "-lm", "-lz", "-lexpat"]

EMBED_MAIN = r"""
#include <Python.h>
int main(void) {
    Py_Initialize();
    PyRun_SimpleString("import sys; print(sys.version_info[:2])");
    return Py_FinalizeEx() < 0 ? 120 : 0;
}
"""

EXTENSION = r"""
#include <Python.h>
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "%(name)s", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_%(name)s(void) { return PyModule_Create(&def); }
"""


def gcc(out: Path, sources: dict[str, str], *args: str) -> Path:
    """Compile `sources` (file name -> C text) written beside `out` into `out` with gcc."""
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in sources.items():
        source = out.parent / name
        source.write_text(text)
        paths.append(str(source))
    subprocess.run(["gcc", "-o", str(out), *paths, *args], check=True, capture_output=True)
    return out


def static_embed(out: Path, *, export_dynamic: bool) -> Path:
    """A program with the whole PIC libpython archive linked in, exporting it or not."""
    flags = ["-I", DEBIAN_INCLUDE, "-Wl,--whole-archive", DEBIAN_PIC_ARCHIVE]
    flags += ["-Wl,--no-whole-archive", *DEBIAN_LIBS]
    if export_dynamic:
        flags.append("-Wl,--export-dynamic")
    return gcc(out, {"embed.c": EMBED_MAIN}, *flags)


def fake_library(out: Path, soname: str) -> Path:
    """A shared library named `soname` that exports one function."""
    return gcc(
        out,
        {"fake.c": "int fake_function(void) { return 1; }\n"},
        "-shared",
        "-fPIC",
        f"-Wl,-soname,{soname}",
    )


def python_extension(out: Path, name: str, *extra: str) -> Path:
    """A C extension module `name` for the running interpreter's headers."""
    include = sysconfig.get_paths()["include"]
    return gcc(
        out, {f"{name}.c": EXTENSION % {"name": name}}, "-shared", "-fPIC", "-I", include, *extra
    )
