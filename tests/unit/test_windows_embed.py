"""Which embeddable Windows CPython a --python value names, before anything is fetched."""

from __future__ import annotations

import pytest

from packager.core.context import Context
from packager.core.errors import UsageError
from packager.python.windows_embed import PACKAGES, embed_package, windows_python_home


def test_a_minor_release_names_its_package() -> None:
    assert embed_package("3.11").python == "3.11.9"
    assert embed_package("3.13").folder == "cp313"


def test_the_exact_release_inside_is_accepted() -> None:
    assert embed_package("3.12.9") is PACKAGES["3.12"]


def test_another_micro_release_is_refused_with_the_one_there_is() -> None:
    with pytest.raises(UsageError, match=r"packaged is 3\.11\.9, not 3\.11\.4"):
        embed_package("3.11.4")


def test_a_release_with_no_package_is_refused_with_those_there_are() -> None:
    with pytest.raises(UsageError, match=r"no embeddable Windows CPython 3\.7") as raised:
        embed_package("3.7")
    assert raised.value.fix is not None and "3.8, 3.9, 3.10, 3.11, 3.12, 3.13" in raised.value.fix


def test_python_and_python_home_together_are_refused() -> None:
    with pytest.raises(UsageError, match="both name the Windows CPython"):
        windows_python_home("3.11", "/some/home", Context(environ={}))


def test_python_home_alone_is_taken_as_given() -> None:
    assert windows_python_home(None, "/some/home", Context(environ={})) == "/some/home"
