"""The Debian mirror packager fetches from: the one the machine's apt configuration names."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.core.apt import MIRROR_VARIABLE, debian_mirrors
from packager.core.errors import ToolError

DEB822 = """Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""
OTHER = """Types: deb
URIs: https://vendor.example/node_20.x
Suites: nodistro
Components: main
"""


def _root(tmp_path: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = tmp_path / "etc" / "apt" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


def test_the_deb822_sources_give_the_archive_and_its_security_mirror(tmp_path: Path) -> None:
    root = _root(tmp_path, {"sources.list.d/a-vendor.sources": OTHER,
                            "sources.list.d/debian.sources": DEB822})  # fmt: skip
    mirrors = debian_mirrors({}, root)
    assert mirrors.archive == "http://mirror.example/debian"
    assert mirrors.security == "http://mirror.example/debian-security"


def test_a_one_line_list_with_options_is_read(tmp_path: Path) -> None:
    root = _root(tmp_path, {"sources.list": (
        "# a comment\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://list.example/debian bullseye main\n"
        "deb http://list.example/debian-security bullseye-security main\n"
    )})  # fmt: skip
    mirrors = debian_mirrors({}, root)
    assert (mirrors.archive, mirrors.security) == (
        "http://list.example/debian",
        "http://list.example/debian-security",
    )


def test_the_variable_overrides_the_configuration(tmp_path: Path) -> None:
    root = _root(tmp_path, {"sources.list.d/debian.sources": DEB822})
    mirrors = debian_mirrors({MIRROR_VARIABLE: "http://given.example/debian/"}, root)
    assert (mirrors.archive, mirrors.security) == ("http://given.example/debian", None)


def test_no_debian_entry_is_an_error_that_names_the_variable(tmp_path: Path) -> None:
    root = _root(tmp_path, {"sources.list.d/vendor.sources": OTHER})
    with pytest.raises(ToolError, match="name no Debian archive") as raised:
        debian_mirrors({}, root)
    assert raised.value.fix is not None and MIRROR_VARIABLE in raised.value.fix
