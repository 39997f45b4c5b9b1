"""Shared pytest fixtures: the Python installations tests use, and the integration marker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from packager.python.interpreters import Interpreter
from tests import pythons

# Session fixtures: the hello sample built and bundled once; the Windows CPython and wine.
pytest_plugins = [
    "tests.integration.bundle_helpers",
    "tests.integration.gpg_helpers",
    "tests.integration.windows_helpers",
]

INTEGRATION = Path(__file__).parent / "integration"

# No timed assertions: a property test that runs slowly on a loaded machine is not wrong.
settings.register_profile("packager", deadline=None)
settings.load_profile("packager")


def pytest_configure(config: pytest.Config) -> None:
    # Users' machines do not set it, and it hides output a program loses at exit (PyO3
    # never finalizes, so nothing flushes Python's sys.stdout): programs run here without it.
    os.environ.pop("PYTHONUNBUFFERED", None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is marked `integration`, so -m can select it."""
    for item in items:
        if INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.integration)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`installed_libpython`: one test per CPython installation that has a shared libpython.
    `linked_cpython`: the machine's first python that links its libpython, and a built one."""
    if "linked_cpython" in metafunc.fixturenames:
        found = any(pythons.links_its_libpython(item) for item in pythons.installed_pythons())
        metafunc.parametrize(
            "linked_cpython", ["installed", "built"] if found else ["built"], indirect=True
        )
    if "installed_libpython" in metafunc.fixturenames:
        found = pythons.shared_libpythons()
        metafunc.parametrize(
            "installed_libpython",
            found or [None],
            ids=[str(item.shared_library) for item in found] or ["none-found"],
            indirect=True,
        )


@pytest.fixture
def root_user() -> None:
    """Tests that install packages into this system (dpkg -i, rpm -i) run as root (CI
    does); as anyone else they fail saying so, never skip."""
    if os.geteuid() != 0:
        pytest.fail("this test installs packages into the system: run the suite as root")


@pytest.fixture
def installed_libpython(request: pytest.FixtureRequest) -> Interpreter:
    if request.param is None:
        pytest.fail(f"no CPython with a shared libpython was found: {pythons.INSTALL_SHARED}")
    interpreter: Interpreter = request.param
    return interpreter


@pytest.fixture(scope="session")
def shared_cpython() -> Interpreter:
    """A CPython 3.8+ with a shared libpython to embed; the running one when it qualifies."""
    return pythons.pick(
        "CPython 3.8+ with a shared libpython to embed", pythons.INSTALL_SHARED, pythons.is_shared
    )


@pytest.fixture(scope="session")
def static_cpython() -> Interpreter:
    """A CPython 3.8+ with a static libpython archive, a position-independent one first."""
    return pythons.pick(
        "CPython 3.8+ with a static libpython archive",
        pythons.INSTALL_STATIC,
        pythons.is_static,
        prefer=pythons.has_pic_archive,
    )


@pytest.fixture(scope="session")
def built_cpython(tmp_path_factory: pytest.TempPathFactory) -> Interpreter:
    """A python executable compiled here against the machine's shared libpython, linking it
    through an absolute RUNPATH (pyenv's shape), in a prefix of its own. Built against a
    CPython that lacks that shape when there is one (Debian's), so both machines build the
    same subject."""
    base = pythons.pick(
        "CPython 3.8+ with a shared libpython to build a python executable against",
        pythons.INSTALL_SHARED,
        pythons.is_shared,
        prefer=lambda item: not pythons.links_its_libpython(item),
    )
    built = pythons.build_linked_cpython(base, tmp_path_factory.mktemp("built-cpython"))
    assert pythons.links_its_libpython(built), f"{built.path} does not link {base.instsoname}"
    return built


@pytest.fixture
def linked_cpython(request: pytest.FixtureRequest) -> Interpreter:
    """A CPython whose python executable itself links its shared libpython through an
    absolute RUNPATH: an installed one (pyenv's), and the one built here."""
    if request.param == "built":
        built: Interpreter = request.getfixturevalue("built_cpython")
        return built
    return pythons.pick(
        "CPython whose python executable links its shared libpython",
        pythons.INSTALL_LINKED,
        pythons.links_its_libpython,
    )


@pytest.fixture(scope="session")
def second_cpython(static_cpython: Interpreter, built_cpython: Interpreter) -> Interpreter:
    """Another CPython installation than `static_cpython`, with a shared libpython: of
    another version where the machine has one, else the python executable built here."""
    return pythons.pick(
        f"second CPython besides {static_cpython.path} ({static_cpython.version})",
        pythons.INSTALL_SECOND,
        lambda item: pythons.is_shared(item) and pythons.another_installation(item, static_cpython),
        prefer=lambda item: pythons.another_version(item, static_cpython),
        built=(built_cpython,),
    )


@pytest.fixture(scope="session")
def second_python(static_cpython: Interpreter) -> Interpreter:
    """Another installation than `static_cpython`, of another version: a CPython if there is
    one, else PyPy. For tests that tell two Pythons apart by the version they report."""
    return pythons.pick(
        f"second Python besides {static_cpython.path} ({static_cpython.version})",
        f"{pythons.INSTALL_PYPY}, or {pythons.INSTALL_SECOND}",
        lambda item: pythons.another_version(item, static_cpython),
        prefer=lambda item: item.implementation == "cpython",
    )


@pytest.fixture(scope="session")
def pypy() -> Interpreter:
    """A PyPy, which packager must refuse to embed."""
    return pythons.pick("PyPy", pythons.INSTALL_PYPY, lambda item: item.implementation == "pypy")
