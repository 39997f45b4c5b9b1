"""The copyright file of a data package a portable runtime ships (tkinter's font), taken
from the .deb with dpkg-deb: never a file of this machine a link in the package points
at, and no scratch folder left behind when the text cannot be copied."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from packager.core.context import Context
from packager.python.portable.licences import _from_deb


def _deb(tmp_path: Path, doc_link: str | None) -> Path:
    """A data package whose doc folder holds its own copyright, or is the link `doc_link`."""
    tree = tmp_path / "pkg"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        "Package: fonts-test\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.org>\n"
        "Description: test\n"
    )
    docs = tree / "usr/share/doc"
    docs.mkdir(parents=True)
    if doc_link is None:
        (docs / "fonts-test").mkdir()
        (docs / "fonts-test/copyright").write_text("the font's licence\n")
    else:
        (docs / "fonts-test").symlink_to(doc_link)
    deb = tmp_path / "fonts-test_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(deb)],
                   check=True, capture_output=True)  # fmt: skip
    return deb


def _ctx() -> Context:
    return Context(environ=dict(os.environ))


def test_the_packages_own_copyright_is_taken(tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    found = _from_deb("font", str(_deb(tmp_path, None)), str(into), _ctx())
    assert (found, (into / "copyright").read_text()) == (["copyright"], "the font's licence\n")


def test_a_doc_folder_linking_out_of_the_package_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "machine-doc"
    outside.mkdir()
    (outside / "copyright").write_text("a file of this machine\n")
    into = tmp_path / "into"
    into.mkdir()
    found = _from_deb("font", str(_deb(tmp_path, str(outside))), str(into), _ctx())
    assert (found, sorted(p.name for p in into.iterdir())) == ([], [])


def test_a_failed_copy_leaves_no_scratch_folder(tmp_path: Path) -> None:
    into = tmp_path / "into"
    (into / "copyright").mkdir(parents=True)  # where the text would go: copying it fails
    with pytest.raises(OSError):
        _from_deb("font", str(_deb(tmp_path, None)), str(into), _ctx())
    assert sorted(p.name for p in into.iterdir()) == ["copyright"]
