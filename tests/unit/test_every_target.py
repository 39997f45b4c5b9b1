"""Several targets in one bundle run: what each target is asked, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.bundle.every_target import _target_request, bundle_every_target, parse_targets
from packager.bundle.options import BundleRequest, ContentOptions, ObtainOptions
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.outputs.model import BundleFormat
from packager.targets import TARGETS

WINDOWS, AARCH64, NATIVE = (
    TARGETS[t]
    for t in ("x86_64-pc-windows-gnu", "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu")
)


def test_targets_are_split_at_commas_across_repeats_and_kept_once() -> None:
    values = ("a,b", " c ", "a,,b")
    assert parse_targets(values) == ("a", "b", "c")


def test_each_target_gets_the_formats_its_layout_writes_and_its_own_folder(
    tmp_path: Path,
) -> None:
    request = BundleRequest("crate", out_dir=str(tmp_path), formats=(BundleFormat.DEB,
                            BundleFormat.MSI, BundleFormat.ZIP))  # fmt: skip
    linux, skipped = _target_request(request, AARCH64)
    assert (linux.formats, skipped) == ((BundleFormat.DEB, BundleFormat.ZIP), (BundleFormat.MSI,))
    assert linux.out_dir == str(tmp_path / AARCH64.triple) and linux.obtain.target == AARCH64.triple
    windows, skipped = _target_request(request, WINDOWS)
    assert (windows.formats, skipped) == ((BundleFormat.MSI, BundleFormat.ZIP), (BundleFormat.DEB,))


@pytest.mark.parametrize(
    ("python", "windows", "native"),
    [("3.12", "3.12", None), ("/usr/bin/python3.11", None, "/usr/bin/python3.11")],
)
def test_a_release_goes_to_windows_and_a_path_to_this_machine(
    tmp_path: Path, python: str, windows: str | None, native: str | None
) -> None:
    request = BundleRequest("crate", out_dir=str(tmp_path), obtain=ObtainOptions(python=python))
    assert _target_request(request, WINDOWS)[0].obtain.python == windows
    assert _target_request(request, NATIVE)[0].obtain.python == native
    assert _target_request(request, AARCH64)[0].obtain.python == native


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"onefile": True}, "--onefile"),
        ({"content": ContentOptions(python_home="/home")}, "--python-home"),
        ({"name": "x"}, "--name"),
    ],
)
def test_one_value_that_cannot_mean_every_target_is_refused(
    tmp_path: Path, change: dict[str, object], refused: str
) -> None:
    request = BundleRequest("crate", out_dir=str(tmp_path), **change)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=refused):
        bundle_every_target(request, (NATIVE.triple, WINDOWS.triple), Context(environ={}))
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_target_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    request = BundleRequest("crate", out_dir=str(tmp_path))
    with pytest.raises(UsageError, match="no target 'mips-unknown-linux-gnu'") as raised:
        bundle_every_target(request, ("mips-unknown-linux-gnu",), Context(environ={}))
    assert raised.value.fix is not None and WINDOWS.triple in raised.value.fix


def test_formats_no_target_can_write_are_refused_before_any_build(tmp_path: Path) -> None:
    request = BundleRequest("crate", out_dir=str(tmp_path), formats=(BundleFormat.MSI,))
    notes: list[str] = []
    with pytest.raises(UsageError, match="none of the requested formats"):
        bundle_every_target(
            request, (NATIVE.triple, AARCH64.triple), Context({}, note=notes.append)
        )
    assert len(notes) == 2 and all("skipped msi" in note for note in notes)
    assert list(tmp_path.iterdir()) == []
