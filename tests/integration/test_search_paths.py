"""Search paths split at ':' and ';': the rpath rule (PKG104) and bundle locations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packager.binary.checks import check_result
from packager.binary.inspect import inspect_paths
from packager.core.errors import EXIT_USAGE, SearchPathError, UsageError
from packager.outputs.launchers import check_search_path_safe
from tests.integration import cbuild


def rpath_findings(tmp_path: Path, rpath: str) -> list[tuple[str, str]]:
    """(code, message) of the findings on a real program linked with RUNPATH `rpath`."""
    app = cbuild.gcc(
        tmp_path / "bin" / "app", {"app.c": "int main(void){return 0;}\n"}, f"-Wl,-rpath,{rpath}"
    )
    result = check_result(inspect_paths([str(app)], environ={}, jobs=1))
    assert not result.errors, result.errors
    return [(f.code, f.message) for report in result.binaries for f in report.findings]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("rpath", "shown"),
    [
        ("/x;lib", "'lib'"),
        ("/x;", "an empty entry"),
        (";/x", "an empty entry"),
        ("/x;;/y", "an empty entry"),
        ("$ORIGIN/../lib;.", "'.'"),
        ("$ORIGIN/../lib:lib", "'lib'"),
        ("$ORIGINAL/lib", "'$ORIGINAL/lib'"),
        ("@loader_path/lib", "'@loader_path/lib'"),
    ],
)
def test_rpath_entries_relative_after_splitting_at_both_separators(
    tmp_path: Path, rpath: str, shown: str
) -> None:
    findings = rpath_findings(tmp_path, rpath)
    messages = [message for code, message in findings if code == "PKG104"]
    assert messages, findings
    assert messages[0].startswith(f"rpath has {shown}")


@pytest.mark.integration
@pytest.mark.parametrize("rpath", ["$ORIGIN/../lib", "${ORIGIN}/../lib", "$ORIGIN", "$ORIGIN.d"])
def test_origin_based_rpaths_are_not_relative(tmp_path: Path, rpath: str) -> None:
    assert rpath_findings(tmp_path, rpath) == []


@pytest.mark.parametrize("name", ["a:b", "a;b", "x;", ":", "semi;colon:both"])
def test_a_bundle_location_with_a_separator_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(SearchPathError) as raised:
        check_search_path_safe(str(tmp_path / name / "out"))
    assert isinstance(raised.value, UsageError)
    assert raised.value.exit_code == EXIT_USAGE
    assert raised.value.path == str(tmp_path / name / "out")
    assert "LD_LIBRARY_PATH" in raised.value.message
    assert raised.value.fix is not None and "--out" in raised.value.fix


def test_a_symlink_to_a_location_with_a_separator_is_refused(tmp_path: Path) -> None:
    # The launcher resolves its folder with `pwd -P`: the real path is what it sees.
    (tmp_path / "real;dir").mkdir()
    (tmp_path / "plain").symlink_to("real;dir")
    with pytest.raises(SearchPathError) as raised:
        check_search_path_safe(str(tmp_path / "plain"))
    assert raised.value.path == str(tmp_path / "real;dir")


def test_a_relative_location_is_checked_as_an_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "a;b").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path / "a;b")
    try:
        with pytest.raises(SearchPathError):
            check_search_path_safe("out")
    finally:
        os.chdir(cwd)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",))))
def test_exactly_the_locations_with_a_separator_are_refused(tmp_path: Path, name: str) -> None:
    location = tmp_path / "parent" / f"x{name}"
    if ":" in name or ";" in name:
        with pytest.raises(SearchPathError):
            check_search_path_safe(str(location))
    else:
        check_search_path_safe(str(location))
