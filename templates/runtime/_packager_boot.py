"""Imports the modules carried inside this executable, in place.

Written by `packager bundle --onefile` into the module archive appended to the program;
the program's start-up code imports it right after the interpreter starts. It installs
a finder for the compiled extension modules, whose bytes are copied into an anonymous
memory file (memfd_create) and loaded from /proc/self/fd/N, so nothing is written to
disk; and a zipimport that builds each module's code once instead of twice.
"""

import _imp
import os
import sys
import zipimport
from _frozen_importlib import ModuleSpec

# Module name -> member of the archive: `packager bundle --onefile` fills this in.
EXTENSIONS = {}

ARCHIVE = sys.executable
_FIX = f"copy or download {ARCHIVE} again"

# The memory files stay open for the life of the process: glibc's dlopen returns an
# already-loaded object whose file name matches, so a closed and reused /proc/self/fd/N
# would hand the next module the previous one's code.
_memory_files = []


def _checksum(data):
    try:
        from zlib import crc32
    except ImportError:
        try:
            from binascii import crc32
        except ImportError:
            return None
    return crc32(data)


def _read_member(name, member):
    importer = zipimport.zipimporter(ARCHIVE)
    try:
        data = importer.get_data(member)
    except (OSError, zipimport.ZipImportError) as error:
        raise ImportError(
            f"packager: the bundled Python payload is damaged: cannot read {member}: "
            f"{error}; {_FIX}",
            name=name,
        ) from None
    # zipimport's table of contents holds each member's CRC-32 (absent in other Pythons).
    directory = getattr(zipimport, "_zip_directory_cache", {}).get(ARCHIVE, {})
    entry = directory.get(member.replace("/", os.sep))
    crc = _checksum(data)
    if entry is not None and crc is not None and crc != entry[7]:
        raise ImportError(
            f"packager: the bundled Python payload is damaged: {member} does not match "
            f"its checksum; {_FIX}",
            name=name,
        )
    return data


class _LoadTarget:
    """What _imp.create_dynamic reads from a spec: the module name and the file to load."""

    def __init__(self, name, origin):
        self.name = name
        self.origin = origin


class MemoryExtensionLoader:
    """Loads one extension module of the archive through an anonymous memory file."""

    def __init__(self, member):
        self.member = member

    def create_module(self, spec):
        data = _read_member(spec.name, self.member)
        try:
            descriptor = os.memfd_create(spec.name.rpartition(".")[2], os.MFD_CLOEXEC)
        except (AttributeError, OSError) as error:
            raise ImportError(
                f"packager: cannot load {spec.name} from inside {ARCHIVE}: this system has "
                f"no memfd_create ({error})",
                name=spec.name,
            ) from None
        _memory_files.append(descriptor)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        path = f"/proc/self/fd/{descriptor}"
        if not os.path.exists(path):
            raise ImportError(
                f"packager: cannot load {spec.name} from inside {ARCHIVE}: /proc is not "
                "mounted, and compiled modules are loaded through /proc/self/fd",
                name=spec.name,
            )
        return _imp.create_dynamic(_LoadTarget(spec.name, path))

    def exec_module(self, module):
        _imp.exec_dynamic(module)
        # Single-phase modules get the memory file's name; name the archive member instead.
        module.__file__ = module.__spec__.origin


class MemoryExtensionFinder:
    """Finds the extension modules listed in EXTENSIONS."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        member = EXTENSIONS.get(fullname)
        if member is None:
            return None
        spec = ModuleSpec(fullname, MemoryExtensionLoader(member), origin=f"{ARCHIVE}/{member}")
        spec.has_location = True
        return spec

    @classmethod
    def invalidate_caches(cls):
        pass


class ArchiveImporter(zipimport.zipimporter):
    """zipimport that reads and unmarshals each module once, not twice.

    Python 3.11's zipimporter builds the module's code to name its file for the spec,
    then builds it again to run it; this keeps the first one for get_code.
    """

    _pending = None  # (module name, code) from the last get_filename

    def get_filename(self, fullname):
        code, _, path = zipimport._get_module_code(self, fullname)
        self._pending = (fullname, code)
        return path

    def get_code(self, fullname):
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == fullname:
            return pending[1]
        return super().get_code(fullname)


def _archive_hook(path):
    if path == ARCHIVE or path.startswith(ARCHIVE + os.sep):
        return ArchiveImporter(path)
    raise ImportError("not inside this program", path=path)


def install():
    """Put the finder before the path-based finder, after the built-in and frozen ones."""
    position = len(sys.meta_path)
    for index, finder in enumerate(sys.meta_path):
        if getattr(finder, "__name__", "") == "PathFinder":
            position = index
            break
    sys.meta_path.insert(position, MemoryExtensionFinder)
    if hasattr(zipimport, "_get_module_code"):
        sys.path_hooks.insert(0, _archive_hook)
        for entry in list(sys.path_importer_cache):
            if entry == ARCHIVE or entry.startswith(ARCHIVE + os.sep):
                del sys.path_importer_cache[entry]


install()
