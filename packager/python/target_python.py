"""Where a cross target's CPython comes from, when the command line names none or a release.

`--python-home` always wins. Without it, a Windows target takes the embeddable CPython
that `--python 3.X` names (packager.python.windows_embed) and a Linux cross target the
portable runtime built for its architecture (packager.python.portable), made on first use:
its programs run from glibc 2.17 on.
"""

from __future__ import annotations

import os

from packager.core.context import Context
from packager.core.errors import UsageError
from packager.python.portable import BuildOptions, build_runtime, parse_spec, read_runtime
from packager.python.windows_embed import windows_python_home
from packager.targets import PythonSource, Target

# The CPython a Linux cross target gets when nothing names one.
DEFAULT_PYTHON = "3.11"


def target_python_home(
    target: Target, python: str | None, python_home: str | None, ctx: Context
) -> str | None:
    """The folder of `target`'s CPython: --python-home, the embeddable CPython --python 3.X
    names for Windows, or the portable runtime of a Linux target's architecture."""
    if target.python is PythonSource.WINDOWS_HOME:
        return windows_python_home(python, python_home, ctx)
    if python is not None:
        raise UsageError(
            f"--python names an interpreter of this machine; {target.triple}'s Python "
            "comes from --python-home, or from its portable runtime without it",
            fix="drop --python",
        )
    if python_home is None and target.python is PythonSource.TARGET_ROOT:
        return target_runtime_prefix(target, ctx)
    return python_home


def target_runtime_prefix(target: Target, ctx: Context, python: str = DEFAULT_PYTHON) -> str:
    """The prefix of the portable runtime of CPython `python` for `target` (glibc 2.17),
    from the cache or built there now (a few minutes, once)."""
    options = BuildOptions(parse_spec(python, "2.17", target.arch), jobs=os.cpu_count() or 1)
    ctx.progress(f"the portable CPython {python} runtime for {target.arch}, glibc 2.17 (the "
                 "first time, it is built: a few minutes)…")  # fmt: skip
    return build_runtime(options, ctx).runtime.prefix


def target_root_of(python_home: str | None) -> str | None:
    """`python_home` when it is a target's root file system (whose C library a program
    runs with under qemu); None for a portable runtime's prefix, which has none."""
    if python_home is None or read_runtime(python_home) is not None:
        return None
    return python_home
