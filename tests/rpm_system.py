"""An RPM database that describes a real Debian root, so `rpm -i` resolves Requires.

No RPM distribution's repository is reachable from the test machines, but a Debian root
from debootstrap holds the real C library of its release. rpm's own dependency generator
(`elfdeps --provides`, what rpmbuild runs on every ELF file it packages) reads what the
root's shared libraries provide; those capabilities, and the root's /bin/sh, become the
`Provides` of one package registered in the root's RPM database with `--justdb` (its
files are already there). `rpm -i` then checks a package's Requires against them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ELFDEPS = Path("/usr/lib/rpm/elfdeps")
_LIBRARY_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64")


def _checked(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result


def shared_libraries(root: Path) -> list[Path]:
    """Every shared object file in the root's library folders (symlinks not followed)."""
    found: set[Path] = set()
    for folder in _LIBRARY_DIRS:
        place = root / folder
        if place.is_dir() and not place.is_symlink():
            found.update(p for p in place.rglob("*.so*") if p.is_file() and not p.is_symlink())
    return sorted(found)


def root_provides(root: Path) -> list[str]:
    """What rpm's ELF generator says the root's libraries provide, and /bin/sh."""
    assert ELFDEPS.is_file(), f"{ELFDEPS} is missing: apt-get install rpm"
    listing = "".join(f"{path}\n" for path in shared_libraries(root))
    generated = _checked([str(ELFDEPS), "--provides"], listing).stdout
    provides = sorted({line.strip() for line in generated.splitlines() if line.strip()})
    assert any(p.startswith("libc.so.6(GLIBC_") for p in provides), "no C library in the root"
    return [*provides, "/bin/sh"]


def _spec(name: str, provides: list[str]) -> str:
    lines = [
        f"Name: {name}",
        "Version: 1",
        "Release: 1",
        "Summary: The libraries and shell of a Debian root",
        "License: various",
        "BuildArch: x86_64",
        "AutoReqProv: no",
        *(f"Provides: {capability}" for capability in provides),
        "",
        "%description",
        "The libraries and shell of a Debian root.",
        "",
        "%files",
    ]
    return "".join(f"{line}\n" for line in lines)


def register_root(root: Path, work: Path) -> str:
    """Create the RPM database of `root` and register its libraries and shell in it;
    returns the name of the package that provides them."""
    name = "debian-root-system"
    work.mkdir(parents=True, exist_ok=True)
    spec = work / f"{name}.spec"
    spec.write_text(_spec(name, root_provides(root)), encoding="utf-8")
    topdir = work / "rpmbuild"
    _checked(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {topdir}", str(spec)])
    (package,) = (topdir / "RPMS").rglob(f"{name}-*.rpm")
    _checked(["rpm", "--root", str(root), "--initdb"])
    _checked(["rpm", "--root", str(root), "-i", "--justdb", str(package)])
    return name


def rpm_install(root: Path, package: Path) -> subprocess.CompletedProcess[str]:
    """`rpm -i` into `root` with its dependencies checked and its scripts run."""
    return subprocess.run(
        ["rpm", "--root", str(root), "-i", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
