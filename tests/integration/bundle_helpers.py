"""Session fixtures for the bundle tests: the hello sample built once, bundled once."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.bundle import (
    BundleFormat,
    BundleManifest,
    BundleRequest,
    ContentOptions,
    ObtainOptions,
    bundle,
)
from packager.bundle.layouts import ELF
from packager.core.context import Context, Progress, silent
from packager.crate.build import build_crate
from tests.helpers import SAMPLES, cargo_env

# A name no real Debian package has, so the .deb test can install and remove it.
BUNDLE_NAME = "pkgtest-hello"
SOURCE_DATE_EPOCH = "1700000000"
# Every format a Linux program can be written as (the Windows installers are the PE
# layout's: tests/integration/test_msi.py).
ALL_FORMATS = ELF.formats
# Debian's interpreter: the bundle tests read its layout (lib/python3.11/dist-packages).
DEBIAN_PYTHON = "/usr/bin/python3.11"
EXPECTED_LINES = ("hello, packager, from Rust", "2 + 3 = 5")


def bundle_environ() -> dict[str, str]:
    """The environment bundle tests pass to the library: fixed SOURCE_DATE_EPOCH."""
    environ = dict(os.environ)
    environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    return environ


def bundle_hello_crate(out_dir: Path, *formats: BundleFormat) -> BundleManifest:
    """samples/hello built from its crate against Debian's shared libpython3.11 and
    bundled into `out_dir` in `formats`, as `packager bundle samples/hello` does."""
    environ = cargo_env()
    environ.pop("PYTHONUNBUFFERED", None)
    request = BundleRequest(
        str(SAMPLES / "hello"),
        out_dir=str(out_dir),
        formats=formats,
        obtain=ObtainOptions(mode="dynamic", python=DEBIAN_PYTHON),
    )
    run = bundle(request, Context(environ=environ))
    assert run.manifest is not None
    return run.manifest


def bundle_tree(
    binary: str,
    out_dir: str,
    *,
    environ: dict[str, str],
    formats: tuple[BundleFormat, ...] | None = None,
    content: ContentOptions | None = None,
    progress: Progress = silent,
    **request: object,
) -> BundleManifest:
    """Run the bundle pipeline on a built binary, as `packager bundle BINARY` does."""
    run = bundle(
        BundleRequest(
            binary,
            out_dir=out_dir,
            formats=formats,
            content=content or ContentOptions(),
            **request,  # type: ignore[arg-type]
        ),
        Context(environ=environ, progress=progress),
    )
    assert run.manifest is not None
    return run.manifest


@pytest.fixture(scope="session")
def hello_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hello sample built by `packager build` against Debian's shared libpython3.11 (a
    system subject on every machine the suite runs on), copied out of the target dir."""
    if not os.path.exists(DEBIAN_PYTHON):
        pytest.fail(
            f"{DEBIAN_PYTHON} is a test subject: apt-get install python3.11 libpython3.11-dev"
        )
    outcome = build_crate(
        SAMPLES / "hello", environ=cargo_env(), mode="dynamic", python=DEBIAN_PYTHON
    )
    built = outcome.binaries[0]
    # Other tests build the same crate in other modes into the shared target directory.
    copy = tmp_path_factory.mktemp("hello-bin") / BUNDLE_NAME
    shutil.copy2(built, copy)
    readelf = subprocess.run(["readelf", "-d", str(copy)], capture_output=True, text=True)
    assert "libpython3" in readelf.stdout, "expected a dynamic build of the hello sample"
    return copy


@pytest.fixture(scope="session")
def hello_bundle(hello_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> BundleManifest:
    """Every format of the hello bundle, written once per session."""
    out = tmp_path_factory.mktemp("bundle-out")
    return bundle_tree(str(hello_binary), str(out), environ=bundle_environ(), formats=ALL_FORMATS)


def drop_sbom(tree: Path) -> None:
    """Delete a bundle tree's SBOM: `verify` then runs a bundle changed by hand instead of
    refusing it for files its SBOM lists (packager.verify.contents)."""
    (tree / "sbom.cdx.json").unlink()


def remove_pure_stdlib(tree: Path) -> None:
    """Delete a bundle tree's compiled pure-Python stdlib, keeping lib-dynload and site-packages."""
    stdlib = tree / "lib" / "python3.11"
    for entry in stdlib.iterdir():
        if entry.is_dir() and entry.name not in ("lib-dynload", "dist-packages"):
            shutil.rmtree(entry)
        elif not entry.is_dir():
            entry.unlink()


def output_path(manifest: BundleManifest, fmt: BundleFormat) -> Path:
    """Where `manifest` wrote the output of format `fmt`."""
    for output in manifest.outputs:
        if output.format is fmt:
            return Path(output.path)
    raise AssertionError(f"no {fmt} output in the manifest")
