"""The target table: every entry is complete, and code finds its parts through it."""

from __future__ import annotations

import pytest

from packager.bundle.layouts import TREE_LAYOUTS
from packager.core.errors import UsageError
from packager.crate.cross_build import target_config
from packager.targets import (
    CROSS_TARGETS,
    TARGETS,
    PythonSource,
    TargetSystem,
    cross_target,
    linux_target_for,
)
from packager.targets.machines import MACHINES, elf_machine_name, elf_machine_number


@pytest.mark.parametrize("triple", sorted(TARGETS))
def test_every_target_has_a_layout_and_a_known_machine(triple: str) -> None:
    target = TARGETS[triple]
    assert TREE_LAYOUTS[target.layout].key == target.layout.value
    assert target.arch in MACHINES


@pytest.mark.parametrize("triple", sorted(CROSS_TARGETS))
def test_every_cross_target_asks_for_its_python_and_has_a_linker(triple: str) -> None:
    target = CROSS_TARGETS[triple]
    assert target.linker is not None and target.linker_package is not None
    with pytest.raises(UsageError, match="needs the target's Python") as raised:
        target_config(target, python_home=None)
    assert raised.value.fix is not None and "--python-home" in raised.value.fix


def test_the_native_target_is_no_cross_recipe() -> None:
    native = TARGETS["x86_64-unknown-linux-gnu"]
    assert native.python is PythonSource.HOST
    with pytest.raises(UsageError, match="no cross build recipe"):
        cross_target(native.triple)


def test_a_linux_machine_finds_its_target_and_multiarch() -> None:
    for target in TARGETS.values():
        if target.system is TargetSystem.LINUX:
            assert linux_target_for(target.arch) == target
            assert target.multiarch == MACHINES[target.arch].multiarch
    assert linux_target_for("s390x") is None


def test_elf_machine_numbers_and_names_agree() -> None:
    for name in ("x86_64", "aarch64", "riscv64", "s390x"):
        number = elf_machine_number(name)
        assert number is not None
        assert elf_machine_name(True, True, number) == name
    assert elf_machine_number("no-such-machine") is None
