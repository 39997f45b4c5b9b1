"""`inspect`: read binaries (never run them) and describe how each one links libpython."""

from __future__ import annotations

import functools
import os
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from packager.binary import ResolveContext, read_binary, resolve_needed
from packager.binary.libpython import match_libpython
from packager.binary.model import (
    BinaryKind,
    BinaryReport,
    FileError,
    InspectResult,
    LibPython,
    LinkMode,
    NeededLibrary,
    ParsedBinary,
)
from packager.binary.onefile_markers import may_carry_payload
from packager.core.errors import NotABinaryError, PackagerError, UnreadableInputError

# Defining any of these means the CPython runtime itself is inside the file.
INTERPRETER_ENTRY_POINTS = frozenset(
    {
        "Py_Initialize",
        "Py_InitializeEx",
        "Py_InitializeFromConfig",
        "Py_Main",
        "Py_BytesMain",
        "PyRun_SimpleStringFlags",
    }
)

# A process pool costs about 50 ms of CPU to start (imports, forks, each worker warming
# its own caches) and saves at most the work of the cores it adds. Measured on 2 cores
# (bench/README.md): below about 0.25 s of reading left it is no faster than reading
# in-process, and on a busy machine it is slower.
_POOL_WORTH_SECONDS = 0.25
# Each further worker costs a fork and cold caches: give each at least this much work.
_SECONDS_PER_WORKER = 0.1
# How long to read in-process before judging the rest from the rate so far: long enough
# that one large file early on does not make a small run look large. Reading meanwhile
# is not lost, as the pool only takes what is left.
_SAMPLE_SECONDS = 0.1
# Files per task handed to a worker (fewer when the work is small).
_MAX_CHUNK = 16


def inspect_paths(
    paths: Sequence[str],
    *,
    environ: Mapping[str, str],
    jobs: int | None = None,
    root: str = "/",
    raise_internal_errors: bool = False,
) -> InspectResult:
    """Inspect files and (recursively) directories; bad files become errors, not exceptions.

    A path given explicitly that is not a binary is an error; a non-binary met while
    walking a directory is skipped and counted. A bug met while reading one file becomes
    that file's error too, unless `raise_internal_errors` (the CLI's --debug).
    """
    context = _Context(ResolveContext(environ=dict(environ), root=root), raise_internal_errors)
    targets: list[tuple[str, bool]] = []
    errors: list[FileError] = []
    for path in paths:
        if os.path.isdir(path):
            walked = list(_walk(path, errors))
            if not walked:
                errors.append(FileError(path, "no files found under this directory"))
            targets.extend((found, False) for found in walked)
        else:
            targets.append((path, True))

    if jobs is None:
        outcomes = _inspect_adaptively(targets, context, _available_cores())
    else:
        outcomes = _inspect_in_pool(targets, context, max(1, min(jobs, len(targets))))

    binaries: list[BinaryReport] = []
    skipped = 0
    for reports, error, was_skipped in outcomes:
        binaries.extend(reports)
        if error is not None:
            errors.append(error)
        skipped += was_skipped
    if paths and not binaries and not errors:
        errors.append(FileError(", ".join(paths), "no ELF, Mach-O or PE binaries found"))
    return InspectResult(binaries=tuple(binaries), errors=tuple(errors), skipped=skipped)


def inspect_file(path: str, context: ResolveContext) -> list[BinaryReport]:
    """Inspect one file; raise UnreadableInputError (or NotABinaryError) when it cannot."""
    _require_regular_file(path)
    _, images = read_binary(path)
    reports = [analyze(image, path, resolve_needed(image, path, context)) for image in images]
    # Only a static embed can be a onefile program, and only one with a marker is read.
    if len(reports) == 1 and reports[0].link_mode is LinkMode.STATIC and may_carry_payload(path):
        from packager.binary.onefile_payload import read_payload

        payload = read_payload(path)
        if payload is not None:
            reports[0] = reports[0]._replace(payload=payload)
    return reports


def analyze(parsed: ParsedBinary, path: str, needed: Sequence[NeededLibrary]) -> BinaryReport:
    """Turn what a reader saw into a report: link mode, libpython, refined kind."""
    libpython = _find_libpython(parsed, needed)
    symbols = parsed.symbols
    defines_interpreter = parsed.embedded_python_version is not None or bool(
        INTERPRETER_ENTRY_POINTS.intersection(symbols.exported)
        or INTERPRETER_ENTRY_POINTS.intersection(symbols.local)
    )
    if libpython is not None:
        link_mode = LinkMode.DYNAMIC
    elif defines_interpreter:
        link_mode = LinkMode.STATIC
    else:
        link_mode = LinkMode.NONE
    kind = parsed.kind
    exports_pyinit = any(name in symbols.exported for name in symbols.pyinit) or (
        # Mach-O bundles and PE modules rarely carry a separate local symbol table.
        kind is BinaryKind.MACHO_BUNDLE and bool(symbols.pyinit)
    )
    if (
        kind in (BinaryKind.SHARED_LIBRARY, BinaryKind.MACHO_BUNDLE)
        and exports_pyinit
        and not defines_interpreter
    ):
        kind = BinaryKind.EXTENSION_MODULE
    python_version = parsed.embedded_python_version
    if libpython is not None:
        python_version = _full_version(libpython)
    return BinaryReport(
        path=path,
        format=parsed.format,
        arch=parsed.arch,
        kind=kind,
        link_mode=link_mode,
        python_version=python_version,
        libpython=libpython,
        rpaths=parsed.rpaths,
        runpath=parsed.runpath,
        needed=tuple(needed),
        symbols=symbols,
        glibc_floor=parsed.glibc_floor,
        misaligned_loads=parsed.misaligned_loads,
        interpreter=parsed.interpreter,
        slice_index=parsed.slice_index,
        universal=parsed.universal,
    )


_Outcome = tuple[list[BinaryReport], FileError | None, int]


@dataclass(frozen=True)
class _Context:
    resolve: ResolveContext
    raise_internal_errors: bool


def _inspect_target(target: tuple[str, bool], context: _Context) -> _Outcome:
    path, explicit = target
    try:
        return inspect_file(path, context.resolve), None, 0
    except NotABinaryError as exc:
        if explicit:
            return [], FileError(path, exc.message), 0
        return [], None, 1
    except PackagerError as exc:
        return [], FileError(path, exc.message), 0
    except Exception as exc:
        if context.raise_internal_errors:
            raise
        message = f"internal error while reading ({type(exc).__name__}: {exc}); please report it"
        return [], FileError(path, message), 0


def _find_libpython(parsed: ParsedBinary, needed: Sequence[NeededLibrary]) -> LibPython | None:
    for library in needed:
        matched = match_libpython(library.name, parsed.format)
        if matched is not None:
            version, abi3 = matched
            return LibPython(library.name, version, library.resolved_path, abi3)
    return None


def _full_version(libpython: LibPython) -> str | None:
    """The libpython's own x.y.z when it resolves here and carries it, else the name's x.y."""
    if libpython.resolved_path is not None:
        found = _embedded_version(libpython.resolved_path)
        if found is not None and (
            libpython.version is None or found.startswith(libpython.version + ".")
        ):
            return found
    return libpython.version


@functools.lru_cache(maxsize=64)
def _embedded_version(path: str) -> str | None:
    # Cached: a directory walk meets the same libpython once per binary linking it.
    try:
        _, images = read_binary(path)
    except PackagerError:
        return None
    return images[0].embedded_python_version if images else None


def _require_regular_file(path: str) -> None:
    # Opening a FIFO or a device could block forever: look before opening.
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise UnreadableInputError(f"cannot read file: {exc.strerror or exc}", path=path) from exc
    if stat.S_ISDIR(mode):
        raise NotABinaryError("is a directory", path=path)
    if not stat.S_ISREG(mode):
        raise NotABinaryError("not a regular file", path=path)


def _walk(top: str, errors: list[FileError]) -> Iterator[str]:
    """Regular files under `top`, sorted, each real file once; symlinked dirs are not followed."""
    seen: set[tuple[int, int]] = set()

    def on_error(exc: OSError) -> None:
        errors.append(FileError(exc.filename or top, f"cannot read: {exc.strerror or exc}"))

    for directory, subdirs, files in os.walk(top, onerror=on_error):
        subdirs.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                info = os.stat(path)
            except OSError:
                continue  # a dangling symlink or a file that vanished: nothing to read
            if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            yield path


def pool_workers(seconds_left: float, cores: int) -> int:
    """How many processes should share work estimated at `seconds_left` of one CPU: 1 (no
    pool) unless the work is worth a pool, else up to one per core."""
    if cores < 2 or seconds_left < _POOL_WORTH_SECONDS:
        return 1
    return min(cores, max(2, int(seconds_left / _SECONDS_PER_WORKER)))


def _inspect_adaptively(
    targets: Sequence[tuple[str, bool]], context: _Context, cores: int
) -> list[_Outcome]:
    """Read in-process; once the rate so far says the rest is worth a pool, hand it over.

    The work cannot be told from the file count: an unstripped DLL of wine costs several
    times a small ELF library, and most files of a directory walk are not binaries at all.
    """
    if not targets:
        return []
    # The first file pays for lazy imports and the loader's configuration: not a sample.
    outcomes = [_inspect_target(targets[0], context)]
    # CPU time, not wall time: on a busy machine the wall clock would make the work look
    # larger than it is, and a pool would only add processes competing for the same cores.
    start = time.process_time()
    for index in range(1, len(targets)):
        outcomes.append(_inspect_target(targets[index], context))
        elapsed = time.process_time() - start
        if elapsed >= _SAMPLE_SECONDS:
            rest = targets[index + 1 :]
            workers = pool_workers(elapsed / index * len(rest), cores)
            if workers > 1:
                return outcomes + _inspect_in_pool(rest, context, workers)
    return outcomes


def _inspect_in_pool(
    targets: Sequence[tuple[str, bool]], context: _Context, workers: int
) -> list[_Outcome]:
    if workers <= 1:
        return [_inspect_target(target, context) for target in targets]
    # Imported here: the process pool costs ~15 ms of start-up a small run never needs.
    from concurrent.futures import ProcessPoolExecutor

    # Small chunks: files of one directory cost alike (a wine tree of PE files next to
    # plain ELF libraries), and a large chunk of costly files leaves the other workers idle.
    chunk = max(1, min(_MAX_CHUNK, len(targets) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_inspect_target, targets, [context] * len(targets), chunksize=chunk))


def _available_cores() -> int:
    # The CPUs this process may run on (taskset, cgroup cpusets), not all the machine has.
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1
