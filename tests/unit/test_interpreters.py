"""Interpreter discovery and probing, against the real interpreters of this machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from packager.core.errors import InterpreterError
from packager.python.discovery import (
    discover,
    find_interpreters,
    is_pyenv_shim,
    pyenv_installations,
    select_interpreter,
)
from packager.python.interpreters import Interpreter, link_libraries, probe, require_embeddable
from tests import fake_pyenv
from tests.helpers import REPO
from tests.pythons import has_pyenv, installed_pythons, sysconfig_of

DEBIAN_PYTHON = "/usr/bin/python3.11"
DEBIAN_LIBPL = "/usr/lib/python3.11/config-3.11-x86_64-linux-gnu"


def _require(path: str) -> str:
    if not os.path.exists(path):
        pytest.fail(f"{path} is not installed")
    return path


def test_link_libraries_keeps_only_l_flags_in_order_without_duplicates() -> None:
    assert link_libraries(
        "-ldl -L/opt/py/lib -Wl,-rpath,/opt/py/lib", "-lm", "-lm  -lz -lexpat  -lexpat -lz"
    ) == ("dl", "m", "z", "expat")


def test_probe_debian_python_finds_shared_library_and_both_static_archives() -> None:
    interpreter = probe(_require(DEBIAN_PYTHON), dict(os.environ))
    assert interpreter.implementation == "cpython"
    assert interpreter.version.startswith("3.11.")
    assert (interpreter.major, interpreter.minor) == (3, 11)
    assert interpreter.enable_shared
    assert interpreter.shared_library == "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
    # Both Debian archives, the PIC one first.
    assert interpreter.static_archives == (
        f"{DEBIAN_LIBPL}/libpython3.11-pic.a",
        f"{DEBIAN_LIBPL}/libpython3.11.a",
    )
    assert interpreter.static_archive == f"{DEBIAN_LIBPL}/libpython3.11-pic.a"
    assert interpreter.link_libraries == ("dl", "m", "z", "expat")
    assert interpreter.pointer_width == 64
    assert interpreter.ext_suffix == ".cpython-311-x86_64-linux-gnu.so"
    assert "sys" in interpreter.builtin_module_names
    assert "json" in interpreter.stdlib_module_names
    assert not interpreter.free_threaded
    assert interpreter.embedding_problem is None


def test_probe_shared_python_finds_its_own_libpython_not_the_system_one(
    shared_cpython: Interpreter,
) -> None:
    interpreter = probe(shared_cpython.path, dict(os.environ))
    own = sysconfig_of(shared_cpython)
    assert interpreter.version == own["version"]
    lib = own["LIBDIR"]
    assert interpreter.libdir == lib
    assert interpreter.shared_library == os.path.realpath(f"{lib}/{own['INSTSONAME']}")
    assert interpreter.static_archives == tuple(
        dict.fromkeys(
            os.path.realpath(path)
            for name in (own["LIBRARY"].replace(".a", "-pic.a"), own["LIBRARY"])
            for path in (f"{own['LIBPL']}/{name}", f"{lib}/{name}")
            if os.path.isfile(path)
        )
    )
    # LIBS may carry -L and -Wl,-rpath flags (pyenv's does): only the -l names are kept.
    flags = f"{own['LIBS']} {own['SYSLIBS']} {own['MODLIBS']}".split()
    assert set(interpreter.link_libraries) == {flag[2:] for flag in flags if flag[:2] == "-l"}
    assert len(set(interpreter.link_libraries)) == len(interpreter.link_libraries)
    assert interpreter.ldversion == own["LDVERSION"]


def test_pypy_is_probed_but_refused_for_embedding(pypy: Interpreter) -> None:
    interpreter = probe(pypy.path, dict(os.environ))
    assert interpreter.implementation == "pypy"
    assert interpreter.embedding_problem is not None
    assert "PyPy" in interpreter.embedding_problem
    with pytest.raises(InterpreterError, match="PyPy cannot be embedded") as caught:
        require_embeddable(interpreter)
    assert caught.value.fix is not None and "--python" in caught.value.fix


def test_explicit_pypy_is_binding_not_skipped(pypy: Interpreter) -> None:
    # PyPy's directory first, so its bare name in PYO3_PYTHON is looked up on PATH too.
    environ = {"PATH": os.pathsep.join((os.path.dirname(pypy.path), os.environ["PATH"]))}
    with pytest.raises(InterpreterError, match="PyPy"):
        select_interpreter(environ, explicit=pypy.path)
    with pytest.raises(InterpreterError, match="PyPy"):
        select_interpreter({**environ, "PYO3_PYTHON": os.path.basename(pypy.path)})


def test_missing_executable_is_an_interpreter_error_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "python3.99")
    with pytest.raises(InterpreterError) as caught:
        probe(missing, dict(os.environ))
    assert caught.value.path == missing
    assert missing in str(caught.value)


def test_non_python_executable_is_an_interpreter_error(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho 'I am not Python' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(InterpreterError, match="not a working Python 3") as caught:
        probe(str(fake), dict(os.environ))
    assert "I am not Python" in str(caught.value)
    assert caught.value.path == str(fake)


def test_find_interpreters_priority_order_and_realpath_dedupe(
    tmp_path: Path, static_cpython: Interpreter, second_cpython: Interpreter, pypy: Interpreter
) -> None:
    first, second = static_cpython.path, second_cpython.path
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # python3 and python3.11 on PATH are the same file as PYO3_PYTHON: listed once.
    (bin_dir / "python3").symlink_to(first)
    (bin_dir / "python3.11").symlink_to(first)
    (bin_dir / "python3.12").symlink_to(second)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(second)
    environ = {"PATH": str(bin_dir), "PYO3_PYTHON": first, "VIRTUAL_ENV": str(venv)}

    found = find_interpreters(environ, explicit=pypy.path)

    assert [(c.source, c.path) for c in found] == [
        ("--python", pypy.path),
        ("PYO3_PYTHON", first),
        ("VIRTUAL_ENV", str(venv / "bin" / "python")),
    ]


def test_find_interpreters_lists_python3_then_newest_versioned(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "python3.9", "python3.11", "python3.11-config", "python3.10"):
        script = bin_dir / name
        script.write_text("#!/bin/sh\n")
        script.chmod(0o755)
    found = find_interpreters({"PATH": str(bin_dir)})
    assert [Path(c.path).name for c in found] == [
        "python3",
        "python3.11",
        "python3.10",
        "python3.9",
    ]
    assert {c.source for c in found} == {"PATH"}


def test_select_interpreter_skips_broken_path_entries(tmp_path: Path) -> None:
    debian = _require(DEBIAN_PYTHON)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    broken = bin_dir / "python3"
    broken.write_text("#!/bin/sh\nexit 127\n")
    broken.chmod(0o755)
    (bin_dir / "python3.11").symlink_to(debian)
    interpreter = select_interpreter({"PATH": str(bin_dir)})
    assert interpreter.path == str(bin_dir / "python3.11")
    assert interpreter.implementation == "cpython"


def test_discover_reports_failures_and_lists_each_interpreter_once(tmp_path: Path) -> None:
    debian = _require(DEBIAN_PYTHON)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(debian)
    wrapper = bin_dir / "python3.11"  # a different file that runs the same interpreter
    wrapper.write_text(f'#!/bin/sh\nexec {debian} "$@"\n')
    wrapper.chmod(0o755)
    broken = bin_dir / "python3.10"
    broken.write_text("#!/bin/sh\necho 'pyenv: python3.10: command not found' >&2\nexit 127\n")
    broken.chmod(0o755)
    results = discover({"PATH": str(bin_dir)}).found
    assert [r.candidate.path for r in results] == [str(bin_dir / "python3"), str(broken)]
    assert results[0].interpreter is not None
    assert results[1].interpreter is None
    assert results[1].error is not None and "command not found" in results[1].error


def test_probe_cache_follows_the_file_modification_time(
    tmp_path: Path, static_cpython: Interpreter, second_python: Interpreter
) -> None:
    wrapper = tmp_path / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec {static_cpython.path} "$@"\n')
    wrapper.chmod(0o755)
    first = probe(str(wrapper), dict(os.environ))
    assert first.version == static_cpython.version != second_python.version
    assert probe(str(wrapper), dict(os.environ)) == first  # cached
    wrapper.write_text(f'#!/bin/sh\nexec {second_python.path} "$@"\n')
    stat = wrapper.stat()
    os.utime(wrapper, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert probe(str(wrapper), dict(os.environ)).version == second_python.version


# ------------------------------------------------------------------ pyenv and old Pythons


def test_discover_resolves_the_selected_shim_and_leaves_out_the_others(tmp_path: Path) -> None:
    selected, unselected = fake_pyenv.pyenv_pair()
    root = fake_pyenv.make_root(
        tmp_path / ".pyenv",
        {
            fake_pyenv.version_name(selected): fake_pyenv.installed(selected),
            fake_pyenv.version_name(unselected): fake_pyenv.installed(unselected),
        },
    )
    environ = fake_pyenv.pyenv_environ(root, fake_pyenv.version_name(selected), tmp_path / "bin")
    selected_shim = root / "shims" / f"python{selected.short_version}"
    unselected_shim = root / "shims" / f"python{unselected.short_version}"
    assert is_pyenv_shim(str(selected_shim)) and is_pyenv_shim(str(unselected_shim))

    discovery = discover(environ)

    listed = [(r.candidate.source, r.candidate.path, r.interpreter) for r in discovery.found]
    assert all(interpreter is not None for _, _, interpreter in listed), discovery.found
    by_version = {i.version: (source, path) for source, path, i in listed if i is not None}
    # The selected version through its shim (resolved), the other by its installation path.
    assert by_version[selected.version] == ("PATH", str(selected_shim))
    assert by_version[unselected.version] == (
        "pyenv",
        str(root / "versions" / unselected.version / "bin" / unselected_shim.name),
    )
    assert len(listed) == len(by_version) == 2  # each interpreter once
    assert all("command not found" not in (r.error or "") for r in discovery.found)
    (note,) = discovery.notes
    assert unselected_shim.name in note and "not selected" in note


def test_an_unselected_shim_fails_as_pyenv_says(tmp_path: Path) -> None:
    _, unselected = fake_pyenv.pyenv_pair()
    root = fake_pyenv.make_root(
        tmp_path / ".pyenv", {unselected.version: fake_pyenv.installed(unselected)}
    )
    environ = fake_pyenv.pyenv_environ(root, "system", tmp_path / "bin")
    shim = root / "shims" / f"python{unselected.short_version}"
    ran = subprocess.run(
        [str(shim), "-c", "pass"], env=environ, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 127
    assert ran.stderr.startswith(f"pyenv: {shim.name}: command not found\n")
    chosen = subprocess.run(
        [str(shim), "-c", "import sys; print(sys.version.split()[0])"],
        env={**environ, "PYENV_VERSION": unselected.version},
        capture_output=True,
        text=True,
        check=True,
    )
    assert chosen.stdout.strip() == unselected.version


def test_pyenv_root_defaults_to_home_from_the_environment(tmp_path: Path) -> None:
    _, interpreter = fake_pyenv.pyenv_pair()
    root = fake_pyenv.make_root(
        tmp_path / ".pyenv", {"custom-name": fake_pyenv.installed(interpreter)}
    )
    expected = [
        str(root / "versions" / "custom-name" / "bin" / f"python{interpreter.short_version}")
    ]
    assert pyenv_installations({"HOME": str(tmp_path)}) == expected
    assert pyenv_installations({"PYENV_ROOT": str(root), "HOME": "/nonexistent"}) == expected
    assert pyenv_installations({}) == []


def test_select_interpreter_skips_unselected_shims_quietly(tmp_path: Path) -> None:
    _, unselected = fake_pyenv.pyenv_pair()
    root = fake_pyenv.make_root(
        tmp_path / ".pyenv", {unselected.version: fake_pyenv.installed(unselected)}
    )
    environ = fake_pyenv.pyenv_environ(root, "system", tmp_path / "bin")
    with pytest.raises(InterpreterError) as caught:
        select_interpreter(environ)
    assert "pyenv shim(s) for versions pyenv has not selected" in caught.value.message
    assert "command not found" not in caught.value.message


def test_python2_is_refused_in_plain_words(tmp_path: Path) -> None:
    python2 = fake_pyenv.python2()
    with pytest.raises(InterpreterError) as caught:
        probe(python2.executable, dict(os.environ))
    assert caught.value.message.startswith("Python 2 cannot be embedded by PyO3")
    assert "Unknown option" not in str(caught.value)
    assert caught.value.fix is not None and "3.8+" in caught.value.fix
    root = fake_pyenv.make_root(tmp_path / ".pyenv", {"2.7": python2})
    (listed,) = discover({"PYENV_ROOT": str(root)}).found
    assert listed.candidate.source == "pyenv"
    assert listed.candidate.path == str(root / "versions" / "2.7" / "bin" / python2.command)
    assert listed.error is not None and "Python 2 cannot be embedded by PyO3" in listed.error


def test_too_old_python3_names_the_pyo3_floor() -> None:
    old = [i for i in installed_pythons() if (i.major, i.minor) < (3, 8)]
    if not old and not has_pyenv():
        # Debian 12 ships no CPython older than 3.8 and none can be installed from it.
        pytest.skip("no CPython 3.6 or 3.7 here, and no pyenv to install one (pyenv install 3.7)")
    if not old:
        pytest.fail("needs a CPython 3.6 or 3.7 interpreter: `pyenv install 3.7`")
    for interpreter in old:
        assert interpreter.embedding_problem is not None
        assert "older than PyO3 0.29's minimum 3.8" in interpreter.embedding_problem
        assert f"was the last release to support {interpreter.short_version}" in (
            interpreter.embedding_problem
        )


def test_probe_ignores_modules_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    debian = _require(DEBIAN_PYTHON)
    wrapper = tmp_path / "python3"  # a new file: the in-process probe cache cannot answer
    wrapper.write_text(f'#!/bin/sh\nexec {debian} "$@"\n')
    wrapper.chmod(0o755)
    for name in ("json", "struct", "sysconfig"):
        (tmp_path / f"{name}.py").write_text("raise SystemExit('imported from the cwd')\n")
    monkeypatch.chdir(tmp_path)
    assert probe(str(wrapper), dict(os.environ)).version.startswith("3.11.")


def test_each_path_to_one_interpreter_reports_its_own_executable(tmp_path: Path) -> None:
    debian = _require(DEBIAN_PYTHON)
    links = [tmp_path / "a" / "python3", tmp_path / "b" / "python3.11", tmp_path / "c" / "python3"]
    for link in links:
        link.parent.mkdir()
        link.symlink_to(debian)
    cache = tmp_path / "cache"
    # The disk cache, filled by another process for the first path only.
    subprocess.run(
        [sys.executable, "-c", _PROBE_INTO_CACHE, str(links[0]), str(cache)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    assert list(cache.iterdir())
    assert probe(str(links[1]), {}, cache_dir=cache).executable == str(links[1])
    # The in-process cache.
    assert probe(str(links[2]), {}).executable == str(links[2])
    assert probe(str(links[0]), {}).executable == str(links[0])


_PROBE_INTO_CACHE = """
import sys
from pathlib import Path
from packager.python.interpreters import probe
probe(sys.argv[1], {}, cache_dir=Path(sys.argv[2]))
"""
