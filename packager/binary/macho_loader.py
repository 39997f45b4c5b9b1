"""Where dyld would find each dylib a Mach-O image loads, checked on the host's file system.

Only the image's own load commands are used: `@rpath/` against its LC_RPATHs,
`@loader_path/` and `@executable_path/` against its directory, absolute paths as they
are (under `context.root`). Libraries under /usr/lib and /System/Library come with
macOS (on macOS 11+ they live only in the dyld shared cache), so they are marked
`system` rather than looked up.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from packager.binary.model import BinaryKind, NeededLibrary, ParsedBinary

if TYPE_CHECKING:
    from packager.binary import ResolveContext

_SYSTEM_PREFIXES = ("/usr/lib/", "/System/Library/")
_RPATH = "@rpath/"
_LOADER_PATH = "@loader_path"
_EXECUTABLE_PATH = "@executable_path"


def resolve(parsed: ParsedBinary, path: str, context: ResolveContext) -> tuple[NeededLibrary, ...]:
    """Resolve every LC_LOAD_DYLIB-like name of `parsed`, the image read from `path`."""
    loader_dir = os.path.dirname(os.path.abspath(path))
    # @executable_path is the main program's directory; for a dylib or bundle that
    # program is unknown, so such names stay unresolved.
    executable_dir = loader_dir if parsed.kind is BinaryKind.EXECUTABLE else None
    return tuple(
        _resolve_one(name, parsed.rpaths, loader_dir, executable_dir, context.root)
        for name in parsed.needed
    )


def _resolve_one(
    name: str,
    rpaths: tuple[str, ...],
    loader_dir: str,
    executable_dir: str | None,
    root: str,
) -> NeededLibrary:
    if name.startswith(_SYSTEM_PREFIXES):
        return NeededLibrary(name=name, resolved_path=None, system=True)
    if name.startswith(_RPATH):
        tail = name[len(_RPATH) :]
        for rpath in rpaths:
            directory = _expand(rpath, loader_dir, executable_dir, root)
            found = _existing_file(directory, tail)
            if found is not None:
                return NeededLibrary(name=name, resolved_path=found)
        return NeededLibrary(name=name, resolved_path=None)
    return NeededLibrary(
        name=name, resolved_path=_existing_file(_expand(name, loader_dir, executable_dir, root))
    )


def _expand(template: str, loader_dir: str, executable_dir: str | None, root: str) -> str | None:
    """The host path a dyld path stands for, or None when dyld's meaning is unknown here."""
    for token, directory in ((_LOADER_PATH, loader_dir), (_EXECUTABLE_PATH, executable_dir)):
        if template == token or template.startswith(token + "/"):
            if directory is None:
                return None
            return directory + template[len(token) :]
    if template.startswith("@"):
        return None  # a nested @rpath or an unknown token: nothing to look at
    if os.path.isabs(template):
        return os.path.join(root, template.lstrip("/"))
    # dyld takes a relative path from the current directory of whoever launches the
    # program, which a static reading cannot know.
    return None


def _existing_file(directory: str | None, tail: str = "") -> str | None:
    if directory is None:
        return None
    candidate = os.path.join(directory, tail) if tail else directory
    # The kernel follows symlinks before "..", so only realpath names the file it opens.
    return os.path.realpath(candidate) if os.path.isfile(candidate) else None
