"""Portable CPython runtimes: built from source with zig for an old glibc floor, cached.

`build_runtime` builds (or finds) one; `find_runtime_interpreter` turns `--python
runtime:3.11` into the path of its interpreter; `list_runtimes` lists what is built.
"""

from packager.python.portable.build import BuildOptions, BuildResult, build_runtime
from packager.python.portable.spec import RuntimeSpec, parse_spec
from packager.python.portable.store import (
    Runtime,
    find_runtime_interpreter,
    list_runtimes,
    read_runtime,
)

__all__ = [
    "BuildOptions",
    "BuildResult",
    "Runtime",
    "RuntimeSpec",
    "build_runtime",
    "find_runtime_interpreter",
    "list_runtimes",
    "parse_spec",
    "read_runtime",
]
