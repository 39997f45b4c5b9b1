"""Collect, trim and precompile the standard library into a bundle's `lib/python3.X`.

Precompiling uses the bundled interpreter's own version (the stdlib's interpreter runs
compileall), a fixed invalidation mode (unchecked-hash: no source mtimes in the .pyc),
relative source names and PYTHONHASHSEED=0 (set and frozenset constants are marshalled
in hash order), so the same inputs give the same bytes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass

from packager.core import runner
from packager.core.context import Context
from packager.core.errors import UsageError


@dataclass(frozen=True)
class TrimRule:
    """A part of the stdlib left out by default; `--keep NAME` puts it back."""

    name: str
    reason: str
    top_level: tuple[str, ...] = ()  # patterns for entries directly under the stdlib dir
    nested_dirs: tuple[str, ...] = ()  # directory names trimmed at any depth
    extensions: tuple[str, ...] = ()  # patterns for extension module names in lib-dynload


TRIM_RULES: tuple[TrimRule, ...] = (
    TrimRule(
        "test",
        "CPython's regression tests, its test packages and the packages' own test suites",
        top_level=("test", "__phello__"),
        nested_dirs=("test", "tests", "idle_test"),
        extensions=("_test*", "_ctypes_test", "_xxtestfuzz", "xxlimited*"),
    ),
    TrimRule("idlelib", "the IDLE editor", top_level=("idlelib",)),
    TrimRule(
        "tkinter",
        "Tk GUI bindings (need a Tk installation on the target)",
        top_level=("tkinter", "turtle.py", "turtledemo"),
        extensions=("_tkinter",),
    ),
    TrimRule("ensurepip", "bundled pip and setuptools wheels", top_level=("ensurepip",)),
    TrimRule("lib2to3", "the deprecated 2to3 translator", top_level=("lib2to3",)),
    TrimRule("distutils", "deprecated, removed in 3.12", top_level=("distutils",)),
    TrimRule("pydoc_data", "pydoc's topic index", top_level=("pydoc_data",)),
    TrimRule(
        "_pydecimal",
        "pure-Python decimal: imported only when the shipped _decimal extension is missing",
        top_level=("_pydecimal.py",),
    ),
    TrimRule(
        "config",
        "build files: the static libpython and the Makefile",
        top_level=("config-*",),
    ),
    TrimRule(
        "legacy-system-modules",
        "nis, crypt and dbm.ndbm: deprecated by PEP 594 (nis and crypt are gone in 3.13); "
        "shipped, their system libraries (Kerberos, libtirpc, libcrypt, Berkeley DB) add "
        "about 4 MB to a bundle",
        top_level=("nis.py", "crypt.py"),
        extensions=("nis", "_crypt", "_dbm"),
    ),
)

# Never copied: caches are rebuilt, third-party packages come only from --requirements,
# and a distribution's own hooks (Debian's sitecustomize links into /etc) do not travel.
_ALWAYS_EXCLUDED = (
    "__pycache__",
    "site-packages",
    "dist-packages",
    "lib-dynload",
    "EXTERNALLY-MANAGED",
    "sitecustomize.py",
)


def trim_rules(keep: Iterable[str]) -> tuple[tuple[TrimRule, ...], tuple[str, ...]]:
    """The rules to apply and the names kept; an unknown `--keep` name is a usage error."""
    kept: set[str] = set()
    for module in keep:
        rule = rule_for(module)
        if rule is None:
            names = ", ".join(rule.name for rule in TRIM_RULES)
            raise UsageError(
                f"--keep {module}: that module is not trimmed, so there is nothing to keep",
                fix=f"name one of: {names} (or a module inside one, such as turtle)",
            )
        kept.add(rule.name)
    applied = tuple(rule for rule in TRIM_RULES if rule.name not in kept)
    return applied, tuple(sorted(kept))


def rule_for(module: str) -> TrimRule | None:
    """The trim rule a module (dotted name) falls under, if any."""
    top = module.split(".")[0]
    for rule in TRIM_RULES:
        if top == rule.name or any(
            fnmatch.fnmatchcase(top, pattern.removesuffix(".py")) for pattern in rule.top_level
        ):
            return rule
        if any(fnmatch.fnmatchcase(top, pattern) for pattern in rule.extensions):
            return rule
    return None


def copy_stdlib(
    stdlib_dir: str,
    dynload_dir: str,
    destination: str,
    rules: Iterable[TrimRule],
    *,
    ext_suffix: str | None = None,
) -> None:
    """Copy the stdlib (and lib-dynload beneath it) to `destination`, minus the trimmed parts.

    With `ext_suffix` (".cpython-311-x86_64-linux-gnu.so"), extension modules tagged for
    another platform are left out: Debian's multiarch packages for another architecture
    put theirs in the same lib-dynload.
    """
    rules = tuple(rules)
    top_patterns = [pattern for rule in rules for pattern in rule.top_level]
    nested = {name for rule in rules for name in rule.nested_dirs}
    extension_patterns = [pattern for rule in rules for pattern in rule.extensions]
    for directory, subdirs, files in os.walk(stdlib_dir):
        relative = os.path.relpath(directory, stdlib_dir)
        at_top = relative == "."

        def excluded(name: str, *, at_top: bool = at_top) -> bool:
            if name in _ALWAYS_EXCLUDED:
                return True
            return at_top and any(fnmatch.fnmatchcase(name, p) for p in top_patterns)

        subdirs[:] = sorted(d for d in subdirs if not excluded(d) and d not in nested)
        target_dir = os.path.normpath(os.path.join(destination, relative))
        os.makedirs(target_dir, exist_ok=True)
        for name in sorted(files):
            if not excluded(name):
                copy_file(os.path.join(directory, name), os.path.join(target_dir, name))
    dynload_target = os.path.join(destination, "lib-dynload")
    os.makedirs(dynload_target, exist_ok=True)
    for name in sorted(os.listdir(dynload_dir)):
        module = name.split(".")[0]
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in extension_patterns):
            continue
        if ext_suffix and ".cpython-" in name and not name.endswith(ext_suffix):
            continue
        copy_file(os.path.join(dynload_dir, name), os.path.join(dynload_target, name))


def copy_file(source: str, target: str) -> None:
    """Copy a file's bytes (following symlinks), mode 0755 if executable else 0644.

    Dangling symlinks and non-regular files are skipped: they cannot be shipped.
    """
    if not os.path.isfile(source):
        return
    shutil.copyfile(source, target)
    executable = os.stat(source).st_mode & 0o111
    os.chmod(target, 0o755 if executable else 0o644)


def source_identity(stdlib_dir: str, dynload_dir: str) -> str:
    """A digest of the path, size and mtime of every file `copy_stdlib` may copy from there.

    It changes when a system package adds, removes or replaces one (Debian's
    libpython3.X-dbg adds modules to lib-dynload), so a copy made before is not reused.
    """
    digest = hashlib.sha256()
    for top in (stdlib_dir, dynload_dir):
        for directory, subdirs, files in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs if d not in _ALWAYS_EXCLUDED)
            for name in sorted(files):
                path = os.path.join(directory, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue  # dangling: copy_file skips it too
                digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def write_text(path: str, text: str, *, mode: int = 0o644) -> None:
    """Write `text` as UTF-8 with the lines as given, then set `mode`."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(path, mode)


def compile_tree(
    python: str,
    tree: str,
    ctx: Context,
    *,
    source_prefix: str,
    legacy: bool = False,
    column_ranges: bool = True,
) -> None:
    """Precompile every .py under `tree` with `python`, reproducibly.

    `source_prefix` is the name recorded as each module's source directory (relative to
    the bundle); `legacy` writes `mod.pyc` beside `mod.py` (the layout a sourceless import reads).
    Without `column_ranges` (-X no_debug_ranges) code objects keep line numbers but not
    the column spans tracebacks underline with ^^^: a fifth smaller once compressed.
    """
    argv = [
        python,
        *(() if column_ranges else ("-X", "no_debug_ranges")),
        "-s",
        "-m",
        "compileall",
        "-q",
        "-f",
        "-j",
        str(_compile_workers(tree)),
        "--invalidation-mode",
        "unchecked-hash",
        "-d",
        source_prefix,
    ]
    if legacy:
        argv.append("-b")
    # Not -I/-E: they would ignore PYTHONHASHSEED; the environment is built here instead.
    compile_environ = {
        "PATH": ctx.environ.get("PATH", ""),
        "PYTHONHASHSEED": "0",
        "LC_ALL": "C.UTF-8",
    }
    # compileall exits 1 when a file has a syntax error (lib2to3 test data, for one);
    # such files stay source-only, exactly as a normal installation leaves them.
    runner.run([*argv, tree], environ=compile_environ, check=False, echo=ctx.echo)


# Modules per worker: a pool of processes costs more to start than a few modules take.
_MODULES_PER_WORKER = 64


def _compile_workers(tree: str) -> int:
    """compileall's worker count for `tree`: one per _MODULES_PER_WORKER sources, at
    most one per core; 1 runs no pool at all."""
    sources = sum(name.endswith(".py") for _, _, names in os.walk(tree) for name in names)
    return max(1, min(os.cpu_count() or 1, sources // _MODULES_PER_WORKER))


def pure_module_files(version_dir: str) -> list[str]:
    """Files of the pure-Python stdlib under the stdlib dir, relative, sorted."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(version_dir):
        relative = os.path.relpath(directory, version_dir)
        if relative == ".":
            subdirs[:] = [
                d for d in subdirs if d not in ("lib-dynload", "site-packages", "dist-packages")
            ]
        subdirs.sort()
        found.extend(os.path.normpath(os.path.join(relative, name)) for name in sorted(files))
    return found


def drop_compiled_sources(version_dir: str) -> None:
    """Leave the pure-Python stdlib as `mod.pyc` files only: each source beside its .pyc goes.

    CPython imports a lone `mod.pyc` from a directory without a stat of the source or a
    `__pycache__` look-up, and without zipimport, which parses a zip's whole directory in
    Python and inflates each member (6 ms of the 21 ms a bundled hello took to start, see
    bench/README.md). A traceback through a stdlib frame then shows the file and line
    number but not the line's text. Files that did not compile stay as they are.
    """
    files = set(pure_module_files(version_dir))
    for name in files:
        if name.endswith(".py") and name + "c" in files:
            os.unlink(os.path.join(version_dir, name))
