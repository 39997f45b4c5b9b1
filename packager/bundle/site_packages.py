"""Third-party packages for a bundle: `pip install --target` into its own site-packages."""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass

from packager.core import runner
from packager.core.context import Context
from packager.core.errors import ToolError, UsageError

# The legacy manylinux names and the glibc each stands for (PEP 600).
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_NO_MATCH = re.compile(r"(?:satisfies the requirement|distribution found for) ([^\s(]+)")


@dataclass(frozen=True)
class WheelTarget:
    """The system the installed wheels must run on: wheels only, none newer than this."""

    glibc: str  # MAJOR.MINOR
    arch: str  # as manylinux tags spell it: x86_64, i686, ...
    python_version: str  # MAJOR.MINOR
    abi: str  # cp311


def platform_tags(glibc: str, arch: str) -> list[str]:
    """Every manylinux tag a system with `glibc` accepts, newest first (PEP 600)."""
    major, minor = (int(part) for part in glibc.split(".")[:2])
    tags: list[str] = []
    for older in range(minor, 4, -1):
        tags.append(f"manylinux_{major}_{older}_{arch}")
        legacy = _LEGACY_MANYLINUX.get((major, older))
        if legacy:
            tags.append(f"{legacy}_{arch}")
    return tags


def target_options(target: WheelTarget) -> list[str]:
    """pip options that pick only wheels `target` can load, and never build an sdist."""
    tags = platform_tags(target.glibc, target.arch)
    if not tags:
        raise UsageError(
            f"no manylinux wheel targets glibc {target.glibc}: the oldest is manylinux1 (2.5)",
            fix="give --glibc 2.5 or newer",
        )
    options = ["--only-binary=:all:"]
    for tag in tags:
        options += ["--platform", tag]
    options += ["--python-version", target.python_version, "--implementation", "cp"]
    for abi in (target.abi, "abi3", "none"):
        options += ["--abi", abi]
    return options


def runtime_target(python: str, arch: str) -> WheelTarget | None:
    """The wheels a portable runtime (its bin/python3.X) can load: for its glibc floor,
    whichever machine builds the bundle; None for any other interpreter."""
    from packager.python.portable import read_runtime

    runtime = read_runtime(os.path.dirname(os.path.dirname(python)))
    if runtime is None:
        return None
    major, minor = runtime.short_version.split(".")
    wheel_arch = "i686" if arch == "i386" else arch
    return WheelTarget(runtime.glibc_text, wheel_arch, runtime.short_version, f"cp{major}{minor}")


def _has_pip(python: str, environ: dict[str, str]) -> bool:
    done = runner.run([python, "-c", "import pip"], environ=environ, check=False)
    return done.returncode == 0


def unmatched_requirement(pip_output: str) -> str | None:
    """The requirement pip found no fitting distribution for, from its error output."""
    found = _NO_MATCH.search(pip_output)
    return found.group(1) if found else None


def pip_install(
    python: str,
    requirements: str,
    site_packages: str,
    ctx: Context,
    target: WheelTarget | None = None,
) -> tuple[str, ...]:
    """Install `requirements` with `python -m pip` into `site_packages`; the names installed.

    With `target`, only wheels for that glibc, machine and CPython are taken.
    """
    if not os.path.isfile(requirements):
        raise UsageError("requirements file not found", path=requirements)
    pip_environ = {k: v for k, v in ctx.environ.items() if not k.startswith("PYTHON")}
    pip_python = python
    if target is not None and not _has_pip(python, pip_environ):
        # Wheels only, chosen by the target's tags: any pip installs them (a portable
        # runtime ships none), so the one packager runs with does.
        pip_python = sys.executable
    argv = _pip_argv(pip_python, requirements, site_packages, target)
    try:
        runner.run(argv, environ=pip_environ, echo=ctx.echo)
    except ToolError as exc:
        raise _pip_failure(exc, python, requirements, target) from exc
    # Scripts pip wrote point at the build machine's interpreter: they cannot run here.
    shutil.rmtree(os.path.join(site_packages, "bin"), ignore_errors=True)
    return tuple(
        sorted(
            "==".join(entry[: -len(".dist-info")].rsplit("-", 1))
            for entry in os.listdir(site_packages)
            if entry.endswith(".dist-info")
        )
    )


def _pip_argv(
    pip_python: str, requirements: str, site_packages: str, target: WheelTarget | None
) -> list[str]:
    """The `pip install --target` command line, limited to `target`'s wheels when given."""
    return [
        pip_python,
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
        *(target_options(target) if target else []),
    ]


def _pip_failure(
    exc: ToolError, python: str, requirements: str, target: WheelTarget | None
) -> ToolError:
    """The error to raise for a failed pip: which requirement has no wheel, when known."""
    unmatched = unmatched_requirement(exc.output) if target else None
    if target and unmatched:
        return ToolError(
            f"no wheel of {unmatched} runs on glibc {target.glibc} ({target.arch}, "
            f"CPython {target.python_version}); packager never builds an sdist for a floor",
            path=requirements,
            fix=f"pin a version of {unmatched} with a manylinux wheel for glibc "
            f"{target.glibc} or older, or raise --glibc",
            output=exc.output,
            returncode=exc.returncode,
        )
    return ToolError(
        f"pip could not install the requirements: {exc.output.strip()[-2000:]}",
        path=requirements,
        fix=f"check the file, the network, and that '{python} -m pip' works",
        output=exc.output,
        returncode=exc.returncode,
    )
