"""Third-party packages for a bundle: `pip install --target` into its own site-packages."""

from __future__ import annotations

import os
import shutil

from packager import runner
from packager.context import Context
from packager.errors import ToolError, UsageError


def pip_install(
    python: str,
    requirements: str,
    site_packages: str,
    ctx: Context,
) -> tuple[str, ...]:
    """Install `requirements` with `python -m pip` into `site_packages`; the names installed."""
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
    pip_environ = {k: v for k, v in ctx.environ.items() if not k.startswith("PYTHON")}
    try:
        runner.run(argv, environ=pip_environ, echo=ctx.echo)
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
