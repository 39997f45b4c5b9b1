"""Lay out the relocatable tree of one bundle.

NAME/NAME                      launcher (sh): PYTHONHOME, LD_LIBRARY_PATH, then exec
NAME/bin/NAME                  the real binary, RUNPATH $ORIGIN/../lib (dynamic builds)
NAME/lib/libpython3.X.so.1.0   the shared libpython (dynamic builds)
NAME/lib/python3.X/            the trimmed, precompiled stdlib, lib-dynload/ and
                               site-packages/ (the --requirements, the restore hook)
NAME/lib/python3X.zip          the pure-Python stdlib instead, with --zip-stdlib
NAME/app/                      the --app-dir files
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from packager import runner
from packager.bundle import stdlib
from packager.bundle.archives import Entry, write_zip_entry, zip_time
from packager.bundle.launchers import RESTORE_MODULE, RESTORE_PTH, posix_launcher, restore_hook
from packager.bundle.model import Progress, SizeBreakdown
from packager.bundle.runtime import PythonRuntime
from packager.errors import ToolError, UsageError
from packager.model import BinaryReport, LinkMode

_PATCHELF_FIX = "install patchelf (Debian: apt-get install patchelf)"
RPATH = "$ORIGIN/../lib"


@dataclass(frozen=True)
class TreeSpec:
    """Everything the tree is made from."""

    name: str
    binary: str  # the binary to ship
    report: BinaryReport  # what inspect read from it
    runtime: PythonRuntime
    rules: tuple[stdlib.TrimRule, ...]
    app_dir: str | None = None
    requirements: str | None = None
    export_env: bool = False
    zip_stdlib: bool = False


@dataclass(frozen=True)
class Tree:
    """What build_tree laid out, with paths relative to the tree's root."""

    launcher: str
    binary: str
    rpath_patched: bool
    installed: tuple[str, ...]  # "name==version" of each distribution in site-packages
    sizes: SizeBreakdown


def build_tree(
    root: str,
    spec: TreeSpec,
    *,
    environ: Mapping[str, str],
    progress: Progress,
    echo: runner.Echo | None = None,
) -> Tree:
    """Create the tree at `root` (which must not exist yet)."""
    runtime = spec.runtime
    dynamic = spec.report.link_mode is LinkMode.DYNAMIC
    version_dir = os.path.join(root, "lib", runtime.version_dir)
    site_packages = os.path.join(root, runtime.site_packages)
    os.makedirs(os.path.join(root, "bin"))
    binary = f"bin/{spec.name}"
    stdlib.copy_file(spec.binary, os.path.join(root, binary))
    os.chmod(os.path.join(root, binary), 0o755)
    if dynamic:
        progress("copying libpython and setting the binary's RUNPATH")
        _ship_libpython(root, spec)
        _patch_rpath(os.path.join(root, binary), environ, echo)

    progress(f"copying the standard library from {runtime.stdlib_dir}")
    stdlib.copy_stdlib(runtime.stdlib_dir, runtime.dynload_dir, version_dir, spec.rules)
    python = runtime.interpreter.executable
    prefix = f"lib/{runtime.version_dir}"
    if spec.zip_stdlib:
        progress("compiling the standard library into a zip")
        stdlib.compile_tree(
            python, version_dir, source_prefix=prefix, environ=environ, legacy=True, echo=echo
        )
        _zip_pure_modules(version_dir, os.path.join(root, "lib", _zip_name(runtime)))
    os.makedirs(site_packages, exist_ok=True)
    module_source, pth_line = restore_hook()
    _write_text(os.path.join(site_packages, f"{RESTORE_MODULE}.py"), module_source)
    _write_text(os.path.join(site_packages, RESTORE_PTH), pth_line)
    installed: tuple[str, ...] = ()
    if spec.requirements:
        progress(f"installing {spec.requirements} into site-packages")
        installed = _pip_install(python, spec.requirements, site_packages, environ, echo)
    progress("precompiling .pyc files")
    compiled = site_packages if spec.zip_stdlib else os.path.join(root, "lib")
    stdlib.compile_tree(
        python,
        compiled,
        source_prefix=os.path.relpath(compiled, root),
        environ=environ,
        echo=echo,
    )
    if spec.app_dir:
        _copy_app(spec.app_dir, os.path.join(root, "app"))
    launcher = spec.name
    _write_text(
        os.path.join(root, launcher),
        posix_launcher(spec.name, binary, set_library_path=dynamic, export_env=spec.export_env),
        mode=0o755,
    )
    return Tree(launcher, binary, dynamic, installed, measure(root, spec.name, runtime))


def _ship_libpython(root: str, spec: TreeSpec) -> None:
    source = spec.runtime.libpython
    assert source is not None  # find_runtime guarantees one for dynamic binaries
    # Named as the binary's DT_NEEDED entry asks (the soname), whatever the file is called.
    needed = spec.report.libpython.name if spec.report.libpython else os.path.basename(source)
    os.makedirs(os.path.join(root, "lib"), exist_ok=True)
    stdlib.copy_file(source, os.path.join(root, "lib", needed))
    os.chmod(os.path.join(root, "lib", needed), 0o755)


def _patch_rpath(binary: str, environ: Mapping[str, str], echo: runner.Echo | None) -> None:
    patchelf = runner.require("patchelf", environ, fix=_PATCHELF_FIX)
    runner.run([patchelf, "--set-rpath", RPATH, binary], environ=environ, echo=echo)


def _zip_name(runtime: PythonRuntime) -> str:
    interpreter = runtime.interpreter
    return f"python{interpreter.major}{interpreter.minor}.zip"


def _zip_pure_modules(version_dir: str, zip_path: str) -> None:
    """Move the pure-Python stdlib into `zip_path` (.pyc only, as zipimport reads them)."""
    date_time = zip_time(0)
    files = stdlib.pure_module_files(version_dir)
    compiled = {name for name in files if name.endswith(".pyc")}
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name in files:
            path = os.path.join(version_dir, name)
            if name.endswith(".py") and name + "c" in compiled:
                os.unlink(path)
                continue
            write_zip_entry(archive, Entry(name.replace(os.sep, "/"), path, 0o644), date_time)
            os.unlink(path)
    for directory, _, _ in sorted(os.walk(version_dir), reverse=True):
        if directory != version_dir and not os.listdir(directory):
            os.rmdir(directory)


def _pip_install(
    python: str,
    requirements: str,
    site_packages: str,
    environ: Mapping[str, str],
    echo: runner.Echo | None,
) -> tuple[str, ...]:
    if not os.path.isfile(requirements):
        raise UsageError("requirements file not found", path=requirements)
    argv = [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--no-warn-script-location",
        "--target",
        site_packages,
        "--requirement",
        requirements,
    ]
    pip_environ = {k: v for k, v in environ.items() if not k.startswith("PYTHON")}
    try:
        runner.run(argv, environ=pip_environ, echo=echo)
    except ToolError as exc:
        raise ToolError(
            f"pip could not install the requirements: {exc.output.strip()[-2000:]}",
            path=requirements,
            fix=f"check the file, the network, and that '{python} -m pip' works",
            output=exc.output,
            returncode=exc.returncode,
        ) from exc
    # Scripts pip wrote point at the build machine's interpreter: they cannot run here.
    shutil.rmtree(os.path.join(site_packages, "bin"), ignore_errors=True)
    return tuple(
        sorted(
            "==".join(entry[: -len(".dist-info")].rsplit("-", 1))
            for entry in os.listdir(site_packages)
            if entry.endswith(".dist-info")
        )
    )


def _copy_app(source: str, target: str) -> None:
    if not os.path.isdir(source):
        raise UsageError("--app-dir is not a directory", path=source)
    # Symlinks are followed: the bundle must not point outside itself.
    shutil.copytree(source, target, symlinks=False, copy_function=stdlib.copy_file)


def _write_text(path: str, text: str, *, mode: int = 0o644) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(path, mode)


def measure(root: str, name: str, runtime: PythonRuntime) -> SizeBreakdown:
    """Sizes of the tree's parts, in bytes."""
    version_dir = os.path.join(root, "lib", runtime.version_dir)
    site_packages = os.path.join(root, runtime.site_packages)
    binary = os.path.getsize(os.path.join(root, "bin", name))
    libpython = sum(
        os.path.getsize(os.path.join(root, "lib", entry))
        for entry in os.listdir(os.path.join(root, "lib"))
        if entry.startswith("libpython")
    )
    zip_path = os.path.join(root, "lib", _zip_name(runtime))
    zipped = os.path.getsize(zip_path) if os.path.exists(zip_path) else 0
    site = tree_size(site_packages)
    stdlib_size = tree_size(version_dir) - site + zipped
    app = tree_size(os.path.join(root, "app"))
    other = tree_size(root) - binary - libpython - stdlib_size - site - app
    return SizeBreakdown(binary, libpython, stdlib_size, site, app, other)


def tree_size(path: str) -> int:
    return sum(
        os.path.getsize(os.path.join(directory, name))
        for directory, _, files in os.walk(path)
        for name in files
    )
