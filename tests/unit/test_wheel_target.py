"""Which wheels `--requirements` may take for a glibc floor, and pip's refusal read back."""

from __future__ import annotations

from packager.bundle.site_packages import (
    WheelTarget,
    platform_tags,
    target_options,
    unmatched_requirement,
)


def test_a_floor_accepts_every_older_manylinux_tag_and_its_legacy_names() -> None:
    tags = platform_tags("2.17", "x86_64")
    assert tags[:2] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert "manylinux2010_x86_64" in tags and "manylinux1_x86_64" in tags
    assert tags[-1] == "manylinux1_x86_64"
    assert not any(tag.startswith("manylinux_2_18") for tag in tags)
    assert platform_tags("2.31", "aarch64")[0] == "manylinux_2_31_aarch64"


def test_only_wheels_for_that_cpython_are_asked_for() -> None:
    options = target_options(WheelTarget("2.28", "x86_64", "3.11", "cp311"))
    assert options[0] == "--only-binary=:all:"
    pairs = list(zip(options[1::2], options[2::2], strict=False))
    assert ("--python-version", "3.11") in pairs and ("--implementation", "cp") in pairs
    assert {value for flag, value in pairs if flag == "--abi"} == {"cp311", "abi3", "none"}


def test_the_requirement_pip_could_not_satisfy_is_named() -> None:
    output = (
        "ERROR: Could not find a version that satisfies the requirement "
        "numpy==1.2 (from versions: none)\nERROR: No matching distribution found for numpy==1.2\n"
    )
    assert unmatched_requirement(output) == "numpy==1.2"
    assert unmatched_requirement("ERROR: network unreachable") is None


def test_a_floor_older_than_any_manylinux_tag_is_refused() -> None:
    import pytest

    from packager.core.errors import UsageError

    assert platform_tags("2.4", "x86_64") == []
    with pytest.raises(UsageError, match="oldest is manylinux1"):
        target_options(WheelTarget("2.4", "x86_64", "3.11", "cp311"))
