"""A Linux cross target's CPython, inside the target's root file system.

The root is what `--python-home` names for such a target: Debian's libpython3.X-dev of
the target's architecture unpacked there, a debootstrap --arch root, or the install
prefix of a portable runtime built for the target (which may have moved since). Its interpreter
cannot run here: everything is read from its sysconfigdata, as a literal.
"""

from __future__ import annotations

import ast
import glob
import os
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core.errors import InterpreterError, UnreadableInputError, UsageError
from packager.targets import Target

LINUX_ROOT_FIX = (
    "pass the target's root file system with --python-home DIR: Debian's "
    "libpython3.X-dev for the target's architecture unpacked there (dpkg-deb -x, with "
    "libc6 and the libraries it needs), or a debootstrap --arch root"
)


@dataclass(frozen=True)
class LinuxPython:
    """A Linux CPython inside a target's root file system, read from its sysconfigdata."""

    sysroot: str
    sysconfig_path: str
    variables: Mapping[str, object]  # build_time_vars
    # For an install prefix (a portable runtime) rather than a root: the prefix its
    # sysconfigdata records, which `sysroot` stands for wherever it is now.
    recorded_prefix: str | None = None

    def text(self, name: str) -> str:
        """A sysconfig variable as text ("" when unset)."""
        value = self.variables.get(name)
        return "" if value is None else str(value)

    def rooted(self, path: str) -> str:
        """A target path (/usr/lib/...) as a path under the root on this host."""
        prefix = self.recorded_prefix
        if prefix is not None and (path == prefix or path.startswith(prefix + "/")):
            return self.sysroot + path[len(prefix) :]
        return os.path.join(self.sysroot, path.lstrip("/"))

    @property
    def is_prefix(self) -> bool:
        """Whether the CPython is an install prefix of its own (a portable runtime), which
        takes its C library from wherever it runs, not a root file system."""
        return self.recorded_prefix is not None

    @property
    def version(self) -> str:
        """ "3.11"."""
        return self.text("VERSION")

    @property
    def library_dir(self) -> str:
        """LIBDIR under the root, where libpython3.X.so is."""
        return self.rooted(self.text("LIBDIR"))

    @property
    def link_libraries(self) -> tuple[str, ...]:
        """The -l names a static libpython needs, in order, each once."""
        words = " ".join(self.text(n) for n in ("LIBS", "SYSLIBS", "LOCALMODLIBS")).split()
        return tuple(dict.fromkeys(w[2:] for w in words if w.startswith("-l")))


def find_linux_python(sysroot: str, target: Target) -> LinuxPython:
    """The CPython whose sysconfigdata for `target` lies under `sysroot`."""
    root = os.path.abspath(sysroot)
    if not os.path.isdir(root):
        raise UsageError("--python-home is not a directory", path=root, fix=LINUX_ROOT_FIX)
    pattern = f"_sysconfigdata_*{target.multiarch}.py"
    found = sorted(
        (path for lib in ("usr/lib", "usr/local/lib", "lib") for path in
         glob.glob(os.path.join(root, lib, "python3.*", pattern))),
        key=lambda path: (os.path.dirname(path), len(path)),
    )  # fmt: skip
    versions = {os.path.dirname(path) for path in found}
    if len(versions) != 1:
        what = "none" if not found else "one per version in " + ", ".join(sorted(versions))
        raise InterpreterError(
            f"expected the sysconfigdata of one CPython for {target.multiarch}; found {what}",
            path=root,
            fix=LINUX_ROOT_FIX,
        )
    # Debian has two names for the same file; the shorter one is the canonical one.
    path = found[0]
    variables = _read_sysconfigdata(path)
    recorded = variables.get("prefix")
    # lib/python3.X/ right under the folder: an install prefix (a portable runtime) that
    # may have moved since it was built; its recorded prefix stands for the folder.
    in_prefix = os.path.dirname(os.path.dirname(path)) == os.path.join(root, "lib")
    relocated = recorded if in_prefix and isinstance(recorded, str) and recorded != "/" else None
    python = LinuxPython(root, path, variables, relocated)
    if not python.version:
        raise UnreadableInputError("the sysconfigdata has no VERSION", path=path)
    return python


def _read_sysconfigdata(path: str) -> Mapping[str, object]:
    """`build_time_vars` of a _sysconfigdata*.py, read as a literal: never executed."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and t.id == "build_time_vars" for t in targets):
                assert isinstance(node, ast.Assign)
                variables = ast.literal_eval(node.value)
                if isinstance(variables, dict):
                    return variables
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError) as exc:
        raise UnreadableInputError(f"cannot read the sysconfigdata: {exc}", path=path) from exc
    raise UnreadableInputError("no build_time_vars dictionary in the sysconfigdata", path=path)
