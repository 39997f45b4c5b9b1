"""Imports the modules carried inside this executable, in place.

Written by `packager bundle --onefile` into the module archive appended to the program;
the program's start-up code imports it right after the interpreter starts. It installs
a finder for the compiled extension modules and a zipimport that builds each module's
code once instead of twice.

A compiled module, and each shared library it needs, is loaded from a copy of its member
in the user's cache, $XDG_CACHE_HOME/packager/onefile-lib/DIGEST/NAME (DIGEST the
member's hash from the checked table), made the first time the program loads it: made
whole in a private folder and renamed into place, so a copy cut short is never used.
Later starts load that copy as a folder bundle loads its files, with nothing to read,
check, inflate or copy. A copy is used only when it is this user's own file, of the
member's size, that no one else can write, in a folder of this user's that no one else
can write; the loader opens the file so checked. The copy is as trusted as the user's own
files: one of the right size whose bytes were changed is loaded. There is no cache (and
the member's checked bytes are copied into an anonymous memory file, memfd_create, and
loaded from /proc/self/fd/N, with nothing written to disk) when the program runs with
raised privileges (setuid, setgid, file capabilities), when the program was made with
--no-library-cache, or when the cache cannot be written, is not this user's, or is on a
file system that cannot map code (noexec).

Tcl's and Tk's script libraries (and the font Tk draws with) are copied out too, since Tcl
reads its scripts only from files: when `_tkinter` is first imported, the members under
TCLTK_DIR are copied once into the user's cache ($XDG_CACHE_HOME/packager/onefile-tcltk/ID,
ID a digest of the members' names, sizes and CRCs, made as above), and TCL_LIBRARY,
TK_LIBRARY and FONTCONFIG_FILE point into it. Where the cache cannot be written, a new
private folder in the temporary directory serves.

Every member is read through `_packager_payload` (built into the program by its start-up
code), which checks its bytes against the hash written when the file was built and stops
the program when they do not match: no altered member is ever used.
"""

import _imp
import os
import stat
import sys
import zipimport
from _frozen_importlib import ModuleSpec

import _packager_payload

# Module name -> member of the archive: `packager bundle --onefile` fills this in.
EXTENSIONS = {}

# Module name -> the shared libraries it needs that its package ships (auditwheel's
# pkg.libs/), as archive members in load order, dependencies first.
LIBRARIES = {}

# Variable -> folder or file under TCLTK_DIR, for a program that carries Tcl/Tk:
# `packager bundle --onefile` fills this in.
TCLTK = {}
TCLTK_DIR = "_packager_tcltk"
# Set only when the caller has not: a desktop's own font configuration wins.
_TCLTK_DEFAULTS = ("FONTCONFIG_FILE",)

# Whether compiled modules load from copies in the user's cache (see above):
# `packager bundle --onefile --no-library-cache` writes False.
LIBRARY_CACHE = True
_LIBRARY_FOLDER = "onefile-lib"

ARCHIVE = sys.executable
_FIX = f"copy or download {ARCHIVE} again"

# The files loaded through /proc/self/fd/N (memory files and cached copies) stay open for
# the life of the process: glibc's dlopen returns an already-loaded object whose file name
# matches, so a closed and reused /proc/self/fd/N would hand the next module the previous
# one's code.
_open_files = []

# zipimport's own reader (a private function, in Python 3.8 to 3.13), kept for other
# archives on sys.path.
_zipimport_data = getattr(zipimport, "_get_data", None)

# The member hash a copy in the cache is named by (a program whose start-up code predates
# it leaves the cache unused).
_member_digest = getattr(_packager_payload, "digest", None)
_privileged = getattr(_packager_payload, "secure", None)


def _read_member(name, member):
    importer = zipimport.zipimporter(ARCHIVE)
    try:
        return importer.get_data(member)
    except (OSError, zipimport.ZipImportError) as error:
        raise ImportError(
            f"packager: the bundled Python payload is damaged: cannot read {member}: "
            f"{error}; {_FIX}",
            name=name,
        ) from None


def _checked_data(archive, toc_entry):
    """zipimport's `_get_data`: a member's data, checked against its hash when it is ours."""
    if archive != ARCHIVE:
        return _zipimport_data(archive, toc_entry)
    path, method, size, _, offset = toc_entry[:5]
    data = _packager_payload.read(path[len(ARCHIVE) + 1 :], offset, size, method)
    # The bytes are the ones written at build time, so inflating them cannot fail.
    return data if method == 0 else zipimport._get_decompress_func()(data, -15)


class _LoadTarget:
    """What _imp.create_dynamic reads from a spec: the module name and the file to load."""

    def __init__(self, name, origin):
        self.name = name
        self.origin = origin


_loaded_libraries = set()


def _memory_file(name, member):
    """Copy `member` into an anonymous memory file; the path the loader opens it by."""
    data = _read_member(name, member)
    try:
        descriptor = _packager_payload.memfd_create(member.rpartition("/")[2])
    except OSError as error:
        raise ImportError(
            f"packager: cannot load {name} from inside {ARCHIVE}: this system has "
            f"no memfd_create ({error})",
            name=name,
        ) from None
    _open_files.append(descriptor)
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
    path = f"/proc/self/fd/{descriptor}"
    if not os.path.exists(path):
        raise ImportError(
            f"packager: cannot load {name} from inside {ARCHIVE}: /proc is not "
            "mounted, and compiled modules are loaded through /proc/self/fd",
            name=name,
        )
    return path


def _cache_home():
    """$XDG_CACHE_HOME when it is an absolute path (the XDG rules ignore a relative one),
    else ~/.cache; None when that is not an absolute path either."""
    home = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(home):
        home = os.path.join(os.path.expanduser("~"), ".cache")
    return home if os.path.isabs(home) else None


def _owned_folder(path, others_may_write=False):
    """Whether `path` is a real folder (not a link) of this user's, or root's, that others
    cannot write to (nor, unless `others_may_write`, its group)."""
    try:
        status = os.lstat(path)
    except OSError:
        return False
    writers = 0o002 if others_may_write else 0o022
    owner = status.st_uid in (os.getuid(), 0)
    return stat.S_ISDIR(status.st_mode) and owner and not status.st_mode & writers


def _library_root():
    """The cache folder of compiled modules' copies, made private when missing. None when
    the program runs with raised privileges (the caller's files must not be loaded), when
    the cache home is not this user's (`sudo` keeping HOME), when the folder or the one
    above it is not private (nothing in it is then trusted to be what it was made as), or
    when its file system cannot map code (noexec)."""
    home = _cache_home()
    if home is None or _privileged is None or _privileged():
        return None
    existing = home if os.path.lexists(home) else os.path.dirname(home)
    try:
        if os.lstat(existing).st_uid != os.getuid():
            return None
        root = os.path.join(home, "packager", _LIBRARY_FOLDER)
        os.makedirs(root, mode=0o700, exist_ok=True)
        if os.statvfs(root).f_flag & os.ST_NOEXEC:
            return None
    except OSError:
        return None
    private = _owned_folder(root) and os.lstat(root).st_uid == os.getuid()
    return root if private and _owned_folder(os.path.dirname(root), True) else None


def _open_copy(path, size):
    """A descriptor of the file at `path` when it is this user's own regular file of `size`
    bytes that no one else can write; None otherwise. What is checked is what is loaded:
    the loader opens the descriptor, not the path."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    status = os.fstat(descriptor)
    if (
        stat.S_ISREG(status.st_mode)
        and status.st_uid == os.getuid()
        and not status.st_mode & 0o022
        and status.st_size == size
    ):
        return descriptor
    os.close(descriptor)
    return None


def _remove_folder(folder):
    """Remove `folder` and the files in it, as far as they can be; never through a link
    (the folder is opened without following one, and its files removed through it)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(folder, flags)
    except OSError:
        if os.path.islink(folder):
            try:
                os.unlink(folder)  # the link itself, not what it leads to
            except OSError:
                pass
        return
    try:
        for name in os.listdir(descriptor):
            try:
                os.unlink(name, dir_fd=descriptor)
            except OSError:
                pass
    except OSError:
        pass
    finally:
        os.close(descriptor)
    try:
        os.rmdir(folder)
    except OSError:
        pass


def _make_copy(name, member, folder, path, size):
    """Write `member`'s checked bytes at `path`: written and flushed to disk in a private
    folder, which is then renamed into place, so that a copy cut short is never seen. A
    copy there that cannot be used (of another size, or writable by others) is moved
    aside and replaced. Another run may win the race. (Nothing is imported here: shutil
    and tempfile import compiled modules, which come here.)"""
    data = _read_member(name, member)
    building = os.path.join(
        os.path.dirname(folder), f".building-{os.getpid()}-{os.urandom(8).hex()}"
    )
    unusable = None
    try:
        os.mkdir(building, 0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        with open(
            os.open(os.path.join(building, os.path.basename(path)), flags, 0o500), "wb"
        ) as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if os.path.lexists(folder):
            descriptor = _open_copy(path, size)  # made by another run meanwhile?
            if descriptor is not None:
                os.close(descriptor)  # never loaded: its number may be reused
                raise FileExistsError(folder)
            unusable = building + "-unusable"
            os.rename(folder, unusable)
        os.rename(building, folder)
    except OSError:  # a full disk, or another run of the program made it meanwhile
        pass
    _remove_folder(building)
    if unusable is not None:
        _remove_folder(unusable)


def _cached_copy(name, member):
    """A descriptor of `member`'s copy in the user's cache, made now if there is none;
    None where the cache cannot serve."""
    entry = _archive_names().get(member) if LIBRARY_CACHE and _member_digest else None
    root = _library_root() if entry is not None else None
    if root is None:
        return None
    folder = os.path.join(root, _member_digest(entry[4]).hex())
    path = os.path.join(folder, member.rpartition("/")[2])
    descriptor = _open_copy(path, entry[3])
    if descriptor is None:
        _make_copy(name, member, folder, path, entry[3])
        descriptor = _open_copy(path, entry[3])
    return descriptor


def _loaded(name, member, load):
    """`load(path)` of `member`: from its copy in the cache, else from a memory file. The
    descriptor stays open whatever happens (see _open_files)."""
    descriptor = _cached_copy(name, member)
    if descriptor is None:
        return load(_memory_file(name, member))
    _open_files.append(descriptor)
    return load(f"/proc/self/fd/{descriptor}")


def _tcltk_names():
    prefix = TCLTK_DIR + "/"
    return sorted(n for n in _archive_names() if n.startswith(prefix) and not n.endswith("/"))


def _tcltk_id(names):
    """A 64-bit FNV-1a digest of the members' names, sizes and CRCs (from the archive's
    directory: nothing is read to compute it)."""
    files = _archive_names()
    digest = 0xCBF29CE484222325
    for name in names:
        entry = files[name]
        for byte in f"{name}\0{entry[2]}\0{entry[7]}\n".encode():
            digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def _copy_tcltk(names, folder):
    importer = zipimport.zipimporter(ARCHIVE)
    prefix = TCLTK_DIR + "/"
    for name in names:
        path = os.path.join(folder, *name[len(prefix) :].split("/"))
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, "xb") as stream:
            stream.write(importer.get_data(name))
    with open(os.path.join(folder, ".complete"), "xb"):
        pass


def _tcltk_folder():
    """The folder holding the carried Tcl/Tk files: the user's cached copy, made now if
    there is none; a new temporary folder where the cache cannot be written."""
    import tempfile

    names = _tcltk_names()
    cache = _cache_home() or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(cache, "packager", "onefile-tcltk", _tcltk_id(names))
    if os.path.isfile(os.path.join(folder, ".complete")):
        return folder
    try:
        os.makedirs(os.path.dirname(folder), mode=0o700, exist_ok=True)
        building = tempfile.mkdtemp(prefix=".building-", dir=os.path.dirname(folder))
        try:
            _copy_tcltk(names, building)
            os.rename(building, folder)
        except OSError:  # a full disk, or another run of the program made it meanwhile
            import shutil

            shutil.rmtree(building, ignore_errors=True)
        if os.path.isfile(os.path.join(folder, ".complete")):
            return folder
    except OSError:
        pass
    folder = tempfile.mkdtemp(prefix="packager-tcltk-")
    _copy_tcltk(names, folder)
    return folder


def _unpack_tcltk():
    """Point Tcl, Tk and fontconfig at the carried files, copied out of the archive."""
    folder = _tcltk_folder()
    for variable, relative in TCLTK.items():
        if variable not in _TCLTK_DEFAULTS or not os.environ.get(variable):
            os.environ[variable] = os.path.join(folder, *relative.split("/"))


class MemoryExtensionLoader:
    """Loads one extension module of the archive: from its copy in the cache, or through
    an anonymous memory file."""

    def __init__(self, member):
        self.member = member

    def create_module(self, spec):
        if spec.name == "_tkinter" and TCLTK:
            _unpack_tcltk()
        for library in LIBRARIES.get(spec.name, ()):
            if library not in _loaded_libraries:
                try:
                    _loaded(spec.name, library, _packager_payload.load_library)
                except ImportError as error:
                    raise ImportError(
                        f"packager: cannot load {library} for {spec.name}: {error}",
                        name=spec.name,
                    ) from None
                _loaded_libraries.add(library)
        return _loaded(
            spec.name, self.member, lambda path: _imp.create_dynamic(_LoadTarget(spec.name, path))
        )

    def exec_module(self, module):
        _imp.exec_dynamic(module)
        # Single-phase modules get the /proc/self/fd name; name the archive member instead.
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

    @classmethod
    def find_distributions(cls, context=None):
        """importlib.metadata's hook: the distributions in the archive's site directories."""
        from importlib.metadata import DistributionFinder  # only programs that ask pay for it

        return _archive_distributions(context or DistributionFinder.Context())


_DISTRIBUTION_SUFFIXES = (".dist-info", ".egg-info")
_distribution_class = None


def _normalized(name):
    """A project name as PEP 503 compares them (certifi, Foo.Bar and foo-bar alike)."""
    for separator in "-.":
        name = name.replace(separator, "_")
    return name.lower()


def _archive_distributions(context):
    """The distributions whose metadata folders sit in the site directories of
    `context.path` that are inside this program, optionally those named `context.name`."""
    wanted = None if context.name is None else _normalized(context.name)
    importer = zipimport.zipimporter(ARCHIVE)
    files = getattr(importer, "_files", None)
    names = files if files is not None else importer._get_files()
    found = []
    for entry in context.path:
        if entry != ARCHIVE and not entry.startswith(ARCHIVE + os.sep):
            continue
        prefix = entry[len(ARCHIVE) + 1 :]
        folders = {}
        for name in names:
            if prefix and not name.startswith(prefix + os.sep):
                continue
            folder = name[len(prefix) + 1 if prefix else 0 :].split(os.sep, 1)[0]
            if folder.endswith(_DISTRIBUTION_SUFFIXES):
                folders[folder] = None
        for folder in folders:
            project = folder.rpartition(".")[0].split("-", 1)[0]
            if wanted is None or _normalized(project) == wanted:
                found.append(_distribution(f"{prefix}/{folder}" if prefix else folder))
    return iter(found)


def _distribution(folder):
    """An importlib.metadata Distribution of a metadata folder of the archive; its files
    are read through the checked zipimport reader."""
    global _distribution_class
    if _distribution_class is None:
        from importlib.metadata import Distribution

        class ArchiveDistribution(Distribution):
            def __init__(self, folder):
                self._folder = folder

            def read_text(self, filename):
                try:
                    data = zipimport.zipimporter(ARCHIVE).get_data(
                        f"{ARCHIVE}/{self._folder}/{filename}"
                    )
                except OSError:
                    return None
                return data.decode("utf-8")

            def locate_file(self, path):
                site = self._folder.rpartition("/")[0]
                return ArchivePath(f"{site}/{path}" if site else str(path))

        _distribution_class = ArchiveDistribution
    return _distribution_class(folder)


def _archive_names():
    """The members of the archive, as zipimport lists them ("pkg/data/file.txt")."""
    importer = zipimport.zipimporter(ARCHIVE)
    files = getattr(importer, "_files", None)
    return files if files is not None else importer._get_files()


class ArchivePath:
    """A file or folder inside this program's archive, read through the checked reader
    (importlib.resources' Traversable; what importlib.metadata's files() locate): a
    damaged member stops the program as any other does, and the bytes come from the
    payload opened at start, whatever has happened to the file on disk since."""

    def __init__(self, at=""):
        self.at = str(at).strip("/")

    def __repr__(self):
        return f"ArchivePath({self.at!r})"

    def __str__(self):
        return f"{ARCHIVE}/{self.at}" if self.at else ARCHIVE

    def __eq__(self, other):
        return isinstance(other, ArchivePath) and other.at == self.at

    def __hash__(self):
        return hash(self.at)

    @property
    def name(self):
        return self.at.rpartition("/")[2]

    @property
    def suffix(self):
        stem, dot, suffix = self.name.rpartition(".")
        return dot + suffix if stem else ""

    def _children(self):
        prefix = f"{self.at}/" if self.at else ""
        return sorted({n[len(prefix) :].split("/", 1)[0] for n in _archive_names()
                       if n.startswith(prefix) and len(n) > len(prefix)})  # fmt: skip

    def is_file(self):
        return self.at in _archive_names()

    def is_dir(self):
        return not self.is_file() and bool(self._children())

    def exists(self):
        return self.is_file() or self.is_dir()

    def iterdir(self):
        return iter([self.joinpath(child) for child in self._children()])

    def joinpath(self, *parts):
        return ArchivePath("/".join([self.at, *(str(part) for part in parts)]).strip("/"))

    __truediv__ = joinpath

    def read_bytes(self):
        if not self.is_file():
            raise FileNotFoundError(str(self))
        return zipimport.zipimporter(ARCHIVE).get_data(str(self))

    def read_text(self, encoding=None, errors=None):
        return self.read_bytes().decode(encoding or "utf-8", errors or "strict")

    def open(self, mode="r", *args, **kwargs):
        import io

        stream = io.BytesIO(self.read_bytes())
        return stream if "b" in mode else io.TextIOWrapper(stream, *args, **kwargs)


_resources_class = None


def _resources(folder):
    """importlib.resources' reader of the package at `folder` of the archive."""
    global _resources_class
    if _resources_class is None:
        try:
            from importlib.resources.abc import Traversable, TraversableResources
        except ImportError:  # Python 3.9 and 3.10
            from importlib.abc import Traversable, TraversableResources

        Traversable.register(ArchivePath)

        class ArchiveResources(TraversableResources):
            def __init__(self, folder):
                self._folder = folder

            def files(self):
                return ArchivePath(self._folder)

        _resources_class = ArchiveResources
    return _resources_class(folder)


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

    def get_resource_reader(self, fullname):
        """A package's files through the checked reader (zipimport's own reopens the
        archive with zipfile, reading unchecked bytes); Python 3.8 keeps its own."""
        try:
            if not self.is_package(fullname):
                return None
        except zipimport.ZipImportError:
            return None
        if sys.version_info < (3, 9):
            return super().get_resource_reader(fullname)
        return _resources(self.prefix.replace(os.sep, "/") + fullname.rpartition(".")[2])


def _archive_hook(path):
    if path == ARCHIVE or path.startswith(ARCHIVE + os.sep):
        return ArchiveImporter(path)
    raise ImportError("not inside this program", path=path)


def _check_modules_read_before_boot():
    """Check what Python imported from the archive before this module (encodings):
    the start-up code checked the members it knows of; this catches any other."""
    directory = getattr(zipimport, "_zip_directory_cache", {}).get(ARCHIVE, {})
    for module in list(sys.modules.values()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None)
        if isinstance(origin, str) and origin.startswith(ARCHIVE + os.sep):
            toc_entry = directory.get(origin[len(ARCHIVE) + 1 :])
            if toc_entry is not None:
                _checked_data(ARCHIVE, toc_entry)


def install():
    """Check every member read, then put the finder before the path-based finder, after
    the built-in and frozen ones."""
    if _zipimport_data is None:
        raise ImportError(
            f"packager: this Python's zipimport has no _get_data, through which the modules "
            f"inside {ARCHIVE} are checked against their hashes; build the program with a "
            "CPython that has it (3.8 to 3.13)"
        )
    zipimport._get_data = _checked_data
    _check_modules_read_before_boot()
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
