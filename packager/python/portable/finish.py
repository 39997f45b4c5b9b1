"""The last steps before a runtime is published: check it, describe it, fix its times."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from packager.core import runner
from packager.core.errors import RuntimeBuildError
from packager.python.portable.cpython import REQUIRED_MODULES
from packager.python.portable.sources import ALL_DEPENDENCIES, SourceSet
from packager.python.portable.spec import RuntimeSpec
from packager.python.portable.store import MANIFEST, MANIFEST_SCHEMA

_IMPORT_ALL = """
import importlib, sys
missing = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:
        missing.append(f"{name} ({type(exc).__name__}: {exc})")
print("\\n".join(missing))
"""


def check_modules(
    prefix: str, version: str, env: dict[str, str], logs: str, emulator: Sequence[str] = ()
) -> None:
    """Raise RuntimeBuildError naming every required module the new runtime cannot import;
    `emulator` runs it when it is for another architecture."""
    short = ".".join(version.split(".")[:2])
    executable = os.path.join(prefix, "bin", f"python{short}")
    result = runner.run(
        [*emulator, executable, "-I", "-B", "-c", _IMPORT_ALL, *REQUIRED_MODULES],
        environ={"PATH": env["PATH"], "LC_ALL": "C"},
        check=False,
    )
    missing = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or missing:
        detail = "\n".join("  " + line for line in missing) or result.stderr.strip()
        raise RuntimeBuildError(
            f"the new runtime cannot import modules it must have:\n{detail}",
            path=os.path.join(logs, "python-configure.log"),
            fix="read CPython's configure and make logs there for why the module was left out",
        )


def write_manifest(
    prefix: str, spec: RuntimeSpec, sources: SourceSet, zig_version: str, key: str, recipe: int
) -> None:
    """Write the runtime's manifest: what it is, and what it was built from and with."""
    licences = {dep.name: dep.licence for dep in ALL_DEPENDENCIES}
    manifest = {
        "schema_version": MANIFEST_SCHEMA,
        "python": sources.python.version,
        "glibc": spec.glibc_text,
        "arch": spec.arch,
        "key": key,
        "recipe": recipe,
        "zig": zig_version,
        "sources": {
            archive.component: {
                "version": archive.version,
                "file": os.path.basename(archive.path),
                "sha256": archive.sha256,
                "licence": licences.get(archive.component, "PSF-2.0"),
            }
            for archive in (sources.python, *sources.dependencies)
        },
    }
    with open(os.path.join(prefix, MANIFEST), "w", encoding="utf-8") as stream:
        json.dump(manifest, stream, indent=2, sort_keys=True)
        stream.write("\n")


def normalise_tree(prefix: str, epoch: int) -> None:
    """Give every file and directory the same time, SOURCE_DATE_EPOCH, for a reproducible tree."""
    for directory, subdirs, files in os.walk(prefix, topdown=False):
        for name in (*files, *subdirs):
            os.utime(os.path.join(directory, name), (epoch, epoch), follow_symlinks=False)
    os.utime(prefix, (epoch, epoch))
