"""What a portable runtime is asked to be: a Python version, a glibc floor, an architecture.

`runtime:3.11` (as given to --python) and `packager runtime build --python 3.11 --glibc 2.17`
are both read here, so the two spellings cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packager.core.errors import UsageError
from packager.targets import host_arch, linux_arches

RUNTIME_PREFIX = "runtime:"

# The oldest glibc zig links against reliably, and the one manylinux2014 targets.
MIN_GLIBC = (2, 17)
SUPPORTED_ARCHES = linux_arches()

_PYTHON_VERSION = re.compile(r"3\.(\d+)(?:\.(\d+))?")
_GLIBC_VERSION = re.compile(r"2\.(\d+)")


@dataclass(frozen=True)
class RuntimeSpec:
    """A requested runtime: CPython 3.minor[.micro] for a glibc floor and an architecture."""

    minor: int
    micro: int | None  # None: whichever 3.minor.x the sources provide
    glibc: tuple[int, int]
    arch: str

    @property
    def short_version(self) -> str:
        """ "3.11"."""
        return f"3.{self.minor}"

    @property
    def glibc_text(self) -> str:
        """ "2.17"."""
        return f"{self.glibc[0]}.{self.glibc[1]}"

    @property
    def zig_target(self) -> str:
        """The zig target triple that pins the glibc symbol set: x86_64-linux-gnu.2.17."""
        return f"{self.gnu_triple}.{self.glibc_text}"

    @property
    def gnu_triple(self) -> str:
        """autoconf's name of the system the runtime runs on: x86_64-linux-gnu."""
        return f"{self.arch}-linux-gnu"

    @property
    def cross(self) -> bool:
        """Whether the runtime is for another architecture than this machine's."""
        return self.arch != host_arch()

    def cross_options(self) -> tuple[str, ...]:
        """autoconf's --build and --host when cross compiling; nothing otherwise."""
        if not self.cross:
            return ()
        return (f"--build={host_arch()}-linux-gnu", f"--host={self.gnu_triple}")

    def accepts(self, version: str) -> bool:
        """Whether a CPython of `version` ("3.11.2") satisfies this request."""
        parts = version.split(".")
        if len(parts) < 3 or parts[0] != "3" or parts[1] != str(self.minor):
            return False
        return self.micro is None or parts[2] == str(self.micro)


def parse_spec(python: str, glibc: str = "2.17", arch: str | None = None) -> RuntimeSpec:
    """Read --python 3.X[.Y], --glibc 2.N and --arch into a RuntimeSpec, or raise UsageError."""
    version = _PYTHON_VERSION.fullmatch(python.strip())
    if version is None:
        raise UsageError(
            f"'{python}' is not a CPython version",
            fix="give --python 3.X or 3.X.Y, for example --python 3.11",
        )
    floor = _GLIBC_VERSION.fullmatch(glibc.strip())
    if floor is None or (2, int(floor.group(1))) < MIN_GLIBC:
        raise UsageError(
            f"'{glibc}' is not a supported glibc floor",
            fix="give --glibc 2.17 or newer, for example --glibc 2.17",
        )
    chosen_arch = arch or host_arch()
    if chosen_arch not in SUPPORTED_ARCHES:
        raise UsageError(
            f"architecture '{chosen_arch}' is not supported",
            fix=f"give --arch {' or '.join(SUPPORTED_ARCHES)}",
        )
    micro = version.group(2)
    return RuntimeSpec(
        minor=int(version.group(1)),
        micro=int(micro) if micro is not None else None,
        glibc=(2, int(floor.group(1))),
        arch=chosen_arch,
    )


@dataclass(frozen=True)
class RuntimeSelector:
    """`runtime:3.11[.2][@2.17][/x86_64]`: which built runtime --python means.

    A runtime whose floor is at or below `max_glibc` qualifies (a lower floor runs on
    more systems); without a floor any built one does, the lowest preferred.
    """

    minor: int
    micro: int | None
    max_glibc: tuple[int, int] | None
    arch: str

    def accepts(self, version: str, glibc: tuple[int, int], arch: str) -> bool:
        """Whether a runtime of CPython `version`, floor `glibc` and `arch` qualifies."""
        wanted = RuntimeSpec(self.minor, self.micro, glibc, arch)
        within = self.max_glibc is None or glibc <= self.max_glibc
        return wanted.accepts(version) and within and arch == self.arch


def parse_selector(text: str) -> RuntimeSelector | None:
    """Read `runtime:3.11`, `runtime:3.11.2@2.17` or `runtime:3.11@2.17/x86_64`; else None."""
    if not text.startswith(RUNTIME_PREFIX):
        return None
    rest = text[len(RUNTIME_PREFIX) :]
    version, _, floor_arch = rest.partition("@")
    floor, _, arch = floor_arch.partition("/")
    spec = parse_spec(version, floor or "2.17", arch or None)
    return RuntimeSelector(spec.minor, spec.micro, spec.glibc if floor else None, spec.arch)
