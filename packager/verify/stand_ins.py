"""DLLs Windows has and wine lacks, compiled from packager's own sources for a prefix.

wine 8 has no bcryptprimitives.dll, whose ProcessPrng every Rust program (std 1.78 and
later) imports, so without it no Rust program starts under wine. When a clean prefix
lacks such a DLL, verify compiles a stand-in from `templates/wine/` with the Windows
target's C compiler, keeps it in the cache (keyed by the sources' digest), and copies it
into the throwaway prefix of one run: never into the clean prefix, never into a bundle.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core import runner
from packager.core.cache import new_entry_dir, publish
from packager.core.errors import ToolError
from packager.core.templates import template_file
from packager.targets import TARGETS, TargetSystem


@dataclass(frozen=True)
class StandIn:
    """One DLL to compile: its sources under templates/ and what it links."""

    dll: str
    sources: tuple[str, ...]  # relative to templates/
    libraries: tuple[str, ...] = ()
    why: str = ""  # what needs it, for the note a run reports


STAND_INS = (
    StandIn(
        "bcryptprimitives.dll",
        ("wine/bcryptprimitives.c", "wine/bcryptprimitives.def"),
        ("-ladvapi32",),
        "ProcessPrng, which Rust programs import",
    ),
)


def missing_from(system32: str, given: set[str]) -> list[StandIn]:
    """The stand-ins whose DLL the prefix's system32 lacks and `given` (names) does not hold."""
    return [
        stand_in
        for stand_in in STAND_INS
        if stand_in.dll.lower() not in given
        and not os.path.exists(os.path.join(system32, stand_in.dll))
    ]


def compiled(
    stand_in: StandIn, environ: Mapping[str, str], cache: str | None, echo: runner.Echo | None
) -> str:
    """The stand-in's DLL, compiled on first use and kept under the cache."""
    texts = [template_file(relative).read_bytes() for relative in stand_in.sources]
    digest = hashlib.sha256(b"\0".join([*texts, *map(str.encode, stand_in.libraries)]))
    parent = os.path.join(cache or tempfile.gettempdir(), "wine", "stand-ins")
    final = os.path.join(parent, digest.hexdigest()[:32])
    if os.path.isfile(os.path.join(final, stand_in.dll)):
        return os.path.join(final, stand_in.dll)
    compiler = _compiler(environ)
    building = new_entry_dir(parent)
    if building is None:
        raise ToolError(f"cannot write a stand-in {stand_in.dll} under {parent}")
    try:
        sources = []
        for relative, text in zip(stand_in.sources, texts, strict=True):
            sources.append(os.path.join(building, os.path.basename(relative)))
            with open(sources[-1], "wb") as handle:
                handle.write(text)
        output = os.path.join(building, stand_in.dll)
        argv = [compiler, "-shared", "-O2", "-s", "-o", output, *sources, *stand_in.libraries]
        runner.run(argv, environ=environ, echo=echo)
        for source in sources:
            os.remove(source)
        return os.path.join(publish(building, final), stand_in.dll)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def note(stand_in: StandIn) -> str:
    """The line a run reports for a stand-in it used."""
    return (
        f"wine lacks {stand_in.dll} ({stand_in.why}): a stand-in compiled by packager was "
        "put into this run's prefix only, never into the bundle"
    )


def _compiler(environ: Mapping[str, str]) -> str:
    """The Windows target's C compiler, which builds the stand-ins."""
    target = next(t for t in TARGETS.values() if t.system is TargetSystem.WINDOWS)
    assert target.linker is not None and target.linker_package is not None
    return runner.require(
        target.linker,
        environ,
        fix=f"install {target.linker_package} (Debian: apt-get install "
        f"{target.linker_package}): verify compiles the DLLs wine lacks with it",
    )
