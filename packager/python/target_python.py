"""Where a cross target's CPython comes from, when the command line names none or a release.

`--python-home` always wins. Without it, a Windows target takes the embeddable CPython
that `--python 3.X` names (packager.python.windows_embed) and a Linux cross target the
Debian root packager makes (packager.python.debian_root).
"""

from __future__ import annotations

from packager.core.context import Context
from packager.core.errors import UsageError
from packager.python.debian_root import debian_root
from packager.python.windows_embed import windows_python_home
from packager.targets import PythonSource, Target


def target_python_home(
    target: Target, python: str | None, python_home: str | None, ctx: Context
) -> str | None:
    """The folder of `target`'s CPython: --python-home, the embeddable CPython --python 3.X
    names for Windows, or a Debian root made for a Linux target."""
    if target.python is PythonSource.WINDOWS_HOME:
        return windows_python_home(python, python_home, ctx)
    if python is not None:
        raise UsageError(
            f"--python names an interpreter of this machine; {target.triple}'s Python "
            "comes from --python-home, or from a Debian root packager makes without it",
            fix="drop --python",
        )
    if python_home is None and target.python is PythonSource.TARGET_ROOT:
        return debian_root(target, ctx)
    return python_home
