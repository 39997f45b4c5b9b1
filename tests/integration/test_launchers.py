"""The POSIX launcher: odd install paths, odd environments, restored child environments."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packager.bundle import BundleFormat, BundleManifest
from packager.outputs.launchers import posix_launcher, render
from tests.integration.bundle_helpers import output_path

KEYS = ("LD_LIBRARY_PATH", "PYTHONHOME", "PYTHONPATH", "PYTHONNOUSERSITE")
# Runs inside the bundled interpreter (from a .pth, after the restore hook): reports the
# environment the process started with, its argv, and what a child process inherits.
PROBE = """
import builtins, json, os, subprocess, sys
def _read(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "surrogateescape").split("\\0")[:-1]
initial = dict(item.split("=", 1) for item in _read("/proc/self/environ") if "=" in item)
child = subprocess.run(["env", "-0"], capture_output=True).stdout
child_env = dict(
    item.split("=", 1) for item in child.decode("utf-8", "surrogateescape").split("\\0") if item
)
with open("/proc/self/maps", encoding="utf-8", errors="surrogateescape") as handle:
    fields = [line.rstrip("\\n").split(maxsplit=5) for line in handle]
maps = sorted({field[5] for field in fields if len(field) == 6 and ".so" in field[5]})
print("PROBE " + json.dumps({
    "initial": initial, "child": child_env, "argv": _read("/proc/self/cmdline")[1:],
    "maps": maps, "no_site": sys.flags.no_site, "path": sys.path,
    "builtins": [name for name in ("exit", "quit", "help", "license") if hasattr(builtins, name)],
}), flush=True)
os._exit(int(initial.get("PROBE_EXIT", "0")))
"""

COMPONENT = st.text(
    alphabet=st.sampled_from(list("ab z'\"$`\\*-\té日ü")), min_size=1, max_size=10
).filter(lambda text: text not in (".", ".."))
# The loader splits LD_LIBRARY_PATH at ':' and at ';'.
SEPARATORS = re.compile("[:;]")
LIBRARY_PATH_ENTRIES = st.sampled_from(
    ["", ".", "lib", "rel dir", "$ORIGIN/x", "/opt/a b", "/usr/lib", "/x", "/semi"]
)
LIBRARY_PATHS = st.one_of(
    st.sampled_from(
        (None, "", ":", "::", ";", "/opt/a b:/usr/lib", "relative/dir:/abs", "/x:", ":/y")
    ),
    st.sampled_from((".:lib", "/x;", ";/x", "/x;;/y", "/x;lib", "/x;.:/y")),
    st.lists(st.tuples(LIBRARY_PATH_ENTRIES, st.sampled_from([":", ";"])), max_size=5).map(
        lambda pairs: "".join(entry + separator for entry, separator in pairs)[:-1]
    ),
)
ARGS = st.lists(
    st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=8),
    max_size=4,
)


@pytest.fixture(scope="module")
def movable_bundle(
    hello_bundle: BundleManifest, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    """A private copy of the bundle tree with the probe installed; [current location]."""
    tree = tmp_path_factory.mktemp("launcher") / "start" / hello_bundle.name
    shutil.copytree(output_path(hello_bundle, BundleFormat.DIR), tree)
    site = tree / "lib" / "python3.11" / "dist-packages"
    (site / "zz_probe.py").write_text(PROBE)
    (site / "zz_probe.pth").write_text("import zz_probe\n")
    return [tree]


def run_probe(launcher: Path, args: list[str], environ: dict[str, str]) -> tuple[int, Any]:
    completed = subprocess.run(
        [str(launcher), *args], env=environ, capture_output=True, timeout=60, check=False
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(b"PROBE ")]
    assert lines, completed.stderr.decode(errors="replace")
    return completed.returncode, json.loads(lines[0][len(b"PROBE ") :])


_counter = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    directory=COMPONENT,
    link_directory=st.one_of(st.none(), COMPONENT),
    library_path=LIBRARY_PATHS,
    args=ARGS,
    exit_code=st.integers(0, 255),
)
def test_launcher_from_odd_paths_and_environments(
    movable_bundle: list[Path],
    directory: str,
    link_directory: str | None,
    library_path: str | None,
    args: list[str],
    exit_code: int,
) -> None:
    current = movable_bundle[0]
    base = current.parent.parent / f"{next(_counter)}-{directory}"
    base.mkdir()
    moved = base / current.name
    os.rename(current, moved)
    movable_bundle[0] = moved
    launcher = moved / current.name
    if link_directory is not None:
        # Run through a symlink elsewhere, as ~/.local/bin/NAME or /usr/bin/NAME are.
        link_dir = base / link_directory
        link_dir.mkdir(exist_ok=True)
        (link_dir / "cmd").symlink_to(launcher)
        launcher = link_dir / "cmd"
    environ = {"PATH": "/usr/bin:/bin", "PROBE_EXIT": str(exit_code)}
    if library_path is not None:
        environ["LD_LIBRARY_PATH"] = library_path

    returncode, seen = run_probe(launcher, args, environ)

    real = os.path.realpath(moved)
    assert returncode == exit_code
    assert seen["argv"] == args
    entries = SEPARATORS.split(seen["initial"]["LD_LIBRARY_PATH"])
    assert entries[0] == f"{real}/lib"
    assert all(entry.startswith("/") for entry in entries), entries
    kept = [entry for entry in SEPARATORS.split(library_path or "") if entry.startswith("/")]
    assert entries[1:] == kept
    assert seen["initial"]["PYTHONHOME"] == real
    # The child gets the caller's environment back, exactly.
    child = seen["child"]
    assert child.get("LD_LIBRARY_PATH") == library_path
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONNOUSERSITE"):
        assert key not in child
    assert not [key for key in child if key.startswith("PACKAGER_")]


def test_original_python_variables_are_restored_for_children(
    movable_bundle: list[Path],
) -> None:
    tree = movable_bundle[0]
    environ = {
        "PATH": "/usr/bin:/bin",
        "PYTHONHOME": "/somewhere else",
        "PYTHONPATH": "",
        "LD_LIBRARY_PATH": "/a:/b",
    }
    _, seen = run_probe(tree / tree.name, [], environ)
    assert seen["initial"]["PYTHONHOME"] == os.path.realpath(tree)
    assert "PYTHONPATH" not in seen["initial"]
    assert seen["child"]["PYTHONHOME"] == "/somewhere else"
    assert seen["child"]["PYTHONPATH"] == ""
    assert seen["child"]["LD_LIBRARY_PATH"] == "/a:/b"
    assert "PYTHONNOUSERSITE" not in seen["child"]


def test_without_a_pth_file_of_its_own_site_is_not_run_and_children_get_the_environment_back(
    hello_bundle: BundleManifest, tmp_path: Path
) -> None:
    # A .pth probe would bring the site module back: the probe is appended to the restore
    # hook, which the start-up code imports itself when site-packages needs no site.
    tree = tmp_path / hello_bundle.name
    shutil.copytree(output_path(hello_bundle, BundleFormat.DIR), tree)
    site = tree / "lib" / "python3.11" / "dist-packages"
    hook = site / "_packager_restore_env.py"
    hook.write_text(hook.read_text() + PROBE)
    for cached in (site / "__pycache__").glob("_packager_restore_env.*"):
        cached.unlink()
    environ = {"PATH": "/usr/bin:/bin", "PYTHONHOME": "/somewhere else", "LD_LIBRARY_PATH": "/a"}
    for program in (tree / tree.name, tree / "bin" / tree.name):
        _, seen = run_probe(program, [], environ)
        assert seen["no_site"] == 1
        assert seen["builtins"] == ["exit", "quit", "help", "license"]
        stdlib = f"{os.path.realpath(tree)}/lib/python3.11"
        assert seen["path"] == [stdlib, f"{stdlib}/lib-dynload", f"{stdlib}/dist-packages"]
        assert (seen["child"]["PYTHONHOME"], seen["child"]["LD_LIBRARY_PATH"]) == (
            "/somewhere else",
            "/a",
        )
        assert not [key for key in seen["child"] if key.startswith("PACKAGER_")]
    (site / "other.pth").write_text("\n")  # any .pth of another package: site runs again
    _, seen = run_probe(tree / tree.name, [], environ)
    assert seen["no_site"] == 0 and seen["child"]["PYTHONHOME"] == "/somewhere else"


def test_an_inherited_platlibdir_does_not_move_the_stdlib_and_is_restored_for_children(
    movable_bundle: list[Path],
) -> None:
    tree = movable_bundle[0]
    environ = {"PATH": "/usr/bin:/bin", "PYTHONPLATLIBDIR": "lib64"}
    _, seen = run_probe(tree / tree.name, [], environ)  # no probe line: it did not start
    assert ("PYTHONPLATLIBDIR" in seen["initial"], seen["child"]["PYTHONPLATLIBDIR"]) == (
        False,
        "lib64",
    )


def test_export_env_lets_children_inherit_the_launcher_variables(
    movable_bundle: list[Path], tmp_path: Path
) -> None:
    tree = movable_bundle[0]
    launcher = tmp_path / "export-launcher"
    text = posix_launcher(tree.name, f"bin/{tree.name}", set_library_path=True, export_env=True)
    (tree / "export-launcher").write_text(text)
    (tree / "export-launcher").chmod(0o755)
    launcher.symlink_to(tree / "export-launcher")
    _, seen = run_probe(launcher, [], {"PATH": "/usr/bin:/bin"})
    real = os.path.realpath(tree)
    assert seen["child"]["PYTHONHOME"] == real
    assert seen["child"]["LD_LIBRARY_PATH"] == f"{real}/lib"
    (tree / "export-launcher").unlink()


@pytest.fixture(scope="module")
def planted(movable_bundle: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding working copies of every shared library the bundled app maps.

    The copies sit in the directory and in its lib/: a program that searches the current
    directory (or "lib" relative to it) loads them instead of the real ones, and
    /proc/self/maps shows it.
    """
    tree = movable_bundle[0]
    _, seen = run_probe(tree / tree.name, [], {"PATH": "/usr/bin:/bin"})
    plant = tmp_path_factory.mktemp("plant")
    (plant / "lib").mkdir()
    for library in seen["maps"]:
        shutil.copy2(library, plant / os.path.basename(library))
        shutil.copy2(library, plant / "lib" / os.path.basename(library))
    assert (plant / "libc.so.6").exists(), seen["maps"]
    return plant


def planted_libraries(seen: Any, plant: Path) -> list[str]:
    return [path for path in seen["maps"] if path.startswith(f"{plant}/")]


@pytest.mark.parametrize("library_path", ["/x;", ":/x", "/x;;/y", ";", "/x;.", "/x;lib"])
def test_no_library_is_loaded_from_the_current_directory(
    movable_bundle: list[Path], planted: Path, library_path: str
) -> None:
    tree = movable_bundle[0]
    completed = subprocess.run(
        [str(tree / tree.name)],
        cwd=planted,
        env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": library_path},
        capture_output=True,
        timeout=60,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(b"PROBE ")]
    assert completed.returncode == 0 and lines, completed.stderr.decode(errors="replace")
    seen = json.loads(lines[0][len(b"PROBE ") :])
    assert planted_libraries(seen, planted) == []
    assert all(
        entry.startswith("/") for entry in SEPARATORS.split(seen["initial"]["LD_LIBRARY_PATH"])
    )


@pytest.mark.parametrize("separator", [":", ";"])
def test_a_path_with_a_separator_is_refused_with_a_message(
    movable_bundle: list[Path], planted: Path, tmp_path: Path, separator: str
) -> None:
    # From "<tmp>/a;b/NAME" the loader would read "b/NAME/lib" relative to the current
    # directory: a copy of the bundle's libraries planted there would be loaded.
    current = movable_bundle[0]
    moved = tmp_path / f"a{separator}b" / current.name
    moved.parent.mkdir()
    work = tmp_path / "work"
    shutil.copytree(planted / "lib", work / "b" / current.name / "lib")
    os.rename(current, moved)
    try:
        completed = subprocess.run(
            [str(moved / current.name)],
            cwd=work,
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.rename(moved, current)
    assert completed.returncode == 127, completed.stdout
    assert "PROBE" not in completed.stdout
    assert "contains ':' or ';'" in completed.stderr
    assert f"a{separator}b" in completed.stderr


def test_render_requires_every_placeholder_and_no_extra_values() -> None:
    assert render("a @@X@@ b", {"X": "1"}) == "a 1 b"
    with pytest.raises(KeyError):
        render("a @@X@@ @@Y@@", {"X": "1"})
    with pytest.raises(KeyError):
        render("a @@X@@", {"X": "1", "Z": "2"})
