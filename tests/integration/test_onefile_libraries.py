"""Compiled modules that need libraries, inside a onefile program.

A module loaded from inside the file (through /proc/self/fd: a memory file, or its copy
in the user's cache) has no directory for $ORIGIN: the libraries a wheel ships beside its
modules (auditwheel's pkg.libs/) and the system libraries a minimal system lacks are
carried in the archive and loaded the same way first. Real subjects: small C
libraries and modules built here, and numpy and pillow as pip installs them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from packager.bundle.onefile.extensions import Placement, plan_extensions
from tests.helpers import REPO, SAMPLES, cargo_env, run_packager
from tests.integration.cbuild import fake_library, gcc, python_extension
from tests.integration.test_onefile import (
    DEBIAN_PYTHON,
    EPOCH,
    _require_tools,
    build_onefile,
    run_sandboxed,
)

pytestmark = pytest.mark.integration


def test_libraries_shipped_beside_a_module_load_first_and_missing_ones_are_impossible(
    tmp_path: Path,
) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is not installed")
    tree = tmp_path / "tree"
    libs = tree / "site-packages" / "pkg.libs"
    # libshipped needs libsibling and has no rpath of its own: the module's DT_RPATH,
    # which the loader applies to what it loads, finds it (as in auditwheel's pkg.libs/).
    fake_library(libs / "libsibling.so.1", "libsibling.so.1")
    gcc(
        libs / "libshipped.so.1",
        {"shipped.c": "int fake_function(void) { return 1; }\n"},
        "-shared", "-fPIC", "-Wl,-soname,libshipped.so.1", "-Wl,--no-as-needed",
        f"-L{libs}", "-l:libsibling.so.1",
    )  # fmt: skip
    fake_library(tmp_path / "gone" / "libgone.so.1", "libgone.so.1")
    suffix = ".cpython-311-x86_64-linux-gnu.so"
    package = tree / "site-packages" / "pkg"
    python_extension(
        package / f"_beside{suffix}",
        "_beside",
        "-Wl,--no-as-needed",
        f"-L{libs}",
        "-l:libshipped.so.1",
        "-Wl,--disable-new-dtags,-rpath,$ORIGIN/../pkg.libs",
    )
    python_extension(
        package / f"_missing{suffix}",
        "_missing",
        "-Wl,--no-as-needed",
        f"-L{tmp_path / 'gone'}",
        "-l:libgone.so.1",
    )
    python_extension(package / f"_fine{suffix}", "_fine")
    files = {
        f"site-packages/pkg/{name}{suffix}": str(package / f"{name}{suffix}")
        for name in ("_beside", "_missing", "_fine")
    }
    for library in ("libshipped.so.1", "libsibling.so.1"):
        files[f"site-packages/pkg.libs/{library}"] = str(libs / library)
    plans, omitted = plan_extensions(files, builtin_names=(), suffixes=(suffix,), tree=str(tree))
    by_name = {plan.name: plan for plan in plans}
    assert by_name["pkg._fine"].placement is Placement.MEMORY
    assert by_name["pkg._fine"].libraries == ()
    beside = by_name["pkg._beside"]
    assert beside.placement is Placement.MEMORY, beside.reason
    assert beside.libraries == (
        "site-packages/pkg.libs/libsibling.so.1",
        "site-packages/pkg.libs/libshipped.so.1",
    )
    missing = by_name["pkg._missing"]
    assert missing.placement is Placement.IMPOSSIBLE
    assert "libgone.so.1, which is not installed" in missing.reason
    assert set(omitted) == {
        f"site-packages/pkg.libs/{n}" for n in ("libshipped.so.1", "libsibling.so.1")
    }


def test_a_site_module_that_cannot_load_is_refused_before_the_build(tmp_path: Path) -> None:
    site = tmp_path / "site"
    fake_library(tmp_path / "gone" / "libgone.so.1", "libgone.so.1")
    python_extension(
        site / "pkg" / "_missing.cpython-311-x86_64-linux-gnu.so",
        "_missing",
        "-Wl,--no-as-needed",
        f"-L{tmp_path / 'gone'}",
        "-l:libgone.so.1",
    )
    out = tmp_path / "out"
    done = run_packager(
        "bundle", str(SAMPLES / "hello"), "--onefile", "--site", str(site), "--out", str(out),
        environ=cargo_env(),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "pkg._missing: needs libgone.so.1, which is not installed" in done.stderr
    assert "building" not in done.stderr and "Traceback" not in done.stderr
    assert not (out / "hello").exists()


NUMPY_PILLOW = """import numpy as np
from PIL import Image, features
a = np.arange(12.0).reshape(3, 4)
print("numpy", round(float(np.linalg.norm(a @ a.T)), 3), np.fft.fft([1, 0, 0, 0]).real.tolist())
image = Image.new("RGB", (8, 8), (10, 20, 30)).resize((4, 4))
print("pillow", image.getpixel((1, 1)), features.check("jpg"), features.check("webp"))
"""


def test_numpy_and_pillow_load_their_libraries_from_inside_the_file(
    tmp_path: Path, numpy_pillow_site: Path
) -> None:
    _require_tools()
    script = tmp_path / "script"
    script.mkdir()
    (script / "python_program.py").write_text(NUMPY_PILLOW)
    out = tmp_path / "numpy-app"
    result = build_onefile(
        str(REPO / "tests" / "crates" / "cwdscript"),  # runs the script of its directory
        environ=cargo_env(SOURCE_DATE_EPOCH=EPOCH),
        out=str(out),
        python=DEBIAN_PYTHON,
        site_dirs=[str(numpy_pillow_site)],
    )
    loaded = {plan.name: plan for plan in result.placed(Placement.MEMORY)}
    blas = loaded["numpy.linalg._umath_linalg"].libraries
    assert any("numpy.libs/libscipy_openblas" in member for member in blas), blas
    assert any("pillow.libs/libjpeg" in m for m in loaded["PIL._imaging"].libraries)
    # Read-only everywhere, TMPDIR empty and kept so: nothing can be extracted.
    completed = run_sandboxed(out, 'cd "$(dirname "$P")" && "$P"', tmp_path, beside=script)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.splitlines()[-2:] == [
        "numpy 502.191 [1.0, 1.0, 1.0, 1.0]",
        "pillow (10, 20, 30) True True",
    ]
