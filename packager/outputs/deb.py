"""A Debian package of a bundle: the tree under /opt/NAME, the command in /usr/bin, and
for a GUI app its menu entry and icon under /usr/share (outputs/pkgroot.py).

`Depends` lists the packages owning the system libraries the bundle's ELF files still
need (outputs/sysdeps.py; found with `dpkg -S` on where each library resolves), with
libc6 at the highest glibc version any of them requires.

As Debian packages do, it installs `/usr/share/doc/PACKAGE/copyright`: the bundle's licence
index (`licenses/README`, see packager.bundle.licences) with where its texts are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from packager.core import runner
from packager.core.errors import UsageError
from packager.crate.appmeta import AppMetadata, MetadataOptions, read_metadata
from packager.outputs.pkgroot import LICENCES, normalize_modes, stage_package_root
from packager.outputs.sysdeps import SystemNeeds, read_system_needs
from packager.targets.machines import machine

_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_DPKG_FIX = "install dpkg-dev and fakeroot (Debian: apt-get install dpkg-dev fakeroot)"
# /opt belongs to no Debian package (the base system makes it), so dpkg removes it with
# the last package installed in it: put it back.
_POSTRM = """#!/bin/sh
set -e
case "$1" in
remove|purge) [ -d /opt ] || mkdir -m 0755 /opt ;;
esac
exit 0
"""


def package_name(name: str) -> str:
    """The Debian package name for bundle `name` (lower case, '_' as '-')."""
    candidate = name.lower().replace("_", "-")
    if not _PACKAGE_NAME.fullmatch(candidate):
        raise UsageError(
            f"'{name}' cannot be a Debian package name",
            fix="rename the binary to letters, digits, '.', '+' and '-' (two or more)",
        )
    return candidate


def deb_architecture(arch: str) -> str:
    """Debian's name for an ELF architecture."""
    found = machine(arch).deb
    if found is None:
        raise UsageError(f"no Debian architecture is known for '{arch}'")
    return found


def parse_dpkg_search(output: str) -> dict[str, str]:
    """{path: package} from `dpkg -S` output ("libc6:amd64: /lib/…/libc.so.6")."""
    owners: dict[str, str] = {}
    for line in output.splitlines():
        packages, separator, path = line.partition(": ")
        if not separator or not path.startswith("/") or packages.startswith("diversion"):
            continue
        first = packages.split(",")[0].strip()
        owners[path.strip()] = first.split(":")[0]
    return owners


def _path_variants(path: str) -> list[str]:
    # Merged /usr: a package may own /lib/x/libc.so.6 while the loader reports /usr/lib/x/…
    variants = [path, os.path.realpath(path)]
    for candidate in list(variants):
        if candidate.startswith("/usr/"):
            variants.append(candidate[len("/usr") :])
        else:
            variants.append("/usr" + candidate)
    return list(dict.fromkeys(variants))


def debian_depends(
    needs: SystemNeeds, *, environ: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Depends entries, notes): the packages owning the system libraries `needs` names,
    found with `dpkg -S`, with libc6 at the glibc floor."""
    notes = list(needs.notes)
    system_paths = {path for _soname, path in needs.libraries}
    dpkg = runner.require("dpkg", environ, fix=_DPKG_FIX)
    queries = sorted({variant for path in system_paths for variant in _path_variants(path)})
    owners = parse_dpkg_search(
        runner.run([dpkg, "-S", *queries], environ=environ, check=False).stdout if queries else ""
    )
    packages: set[str] = set()
    for path in sorted(system_paths):
        owner = next((owners[v] for v in _path_variants(path) if v in owners), None)
        if owner is None:
            notes.append(f"{path} belongs to no Debian package: not in Depends")
        else:
            packages.add(owner)
    depends = [
        f"libc6 (>= {needs.glibc})" if package == "libc6" and needs.glibc else package
        for package in sorted(packages)
    ]
    return tuple(depends), tuple(notes)


def maintainer(meta: AppMetadata) -> str:
    """The Maintainer field: the crate's first author as written (name <e-mail>), else
    the publisher."""
    return meta.authors[0] if meta.authors else meta.publisher


def description_field(meta: AppMetadata, python_version: str) -> str:
    """The Description: the summary line, then the rest of the description as the long
    text (blank lines as " ."), then a line saying what the package carries."""
    rest = meta.description.strip().splitlines()[1:]
    long_lines = [line.rstrip() or "." for line in rest]
    if long_lines:
        long_lines.append(".")
    long_lines.append(f"Runs on its own Python {python_version} runtime, installed in /opt.")
    return meta.summary + "".join(f"\n {line}" for line in long_lines)


def control_fields(
    package: str,
    meta: AppMetadata,
    *,
    version: str,
    arch: str,
    python_version: str,
    installed_kib: int,
    depends: Iterable[str],
) -> list[tuple[str, str]]:
    """The control file's fields: what the app's metadata says, and the tree's size and
    dependencies."""
    return [
        ("Package", package),
        ("Version", version),
        ("Architecture", deb_architecture(arch)),
        ("Maintainer", maintainer(meta)),
        ("Installed-Size", str(installed_kib)),
        ("Depends", ", ".join(depends)),
        ("Section", "misc"),
        ("Priority", "optional"),
        ("Homepage", meta.homepage or ""),
        ("License", meta.license or ""),
        ("Description", description_field(meta, python_version)),
    ]


def _size_kib(folder: str) -> int:
    sizes = (os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)
    return sum(sizes) // 1024 + 1


def _plain_metadata(name: str, version: str) -> AppMetadata:
    return read_metadata(None, name, version=version, flags=MetadataOptions())


def control_text(fields: Iterable[tuple[str, str]]) -> str:
    """A DEBIAN/control file from (field, value) pairs; empty values are left out."""
    return "".join(f"{field}: {value}\n" for field, value in fields if value)


def _write_control_dir(control_dir: str, fields: list[tuple[str, str]]) -> None:
    os.makedirs(control_dir)
    with open(os.path.join(control_dir, "control"), "w", encoding="utf-8") as handle:
        handle.write(control_text(fields))
    with open(os.path.join(control_dir, "postrm"), "w", encoding="utf-8") as handle:
        handle.write(_POSTRM)
    os.chmod(os.path.join(control_dir, "postrm"), 0o755)


def _write_copyright(root: str, package: str, name: str) -> None:
    """/usr/share/doc/PACKAGE/copyright: the bundle's licence index, when it has one."""
    index = os.path.join(root, "opt", name, LICENCES, "README")
    if not os.path.isfile(index):
        return
    with open(index, encoding="utf-8") as handle:
        text = handle.read()
    doc = os.path.join(root, "usr", "share", "doc", package)
    os.makedirs(doc)
    with open(os.path.join(doc, "copyright"), "w", encoding="utf-8") as handle:
        handle.write(
            f"The licence texts of what {package} installs are in /opt/{name}/licenses/;\n"
            f"its index, /opt/{name}/licenses/README, follows (its paths are relative to\n"
            f"/opt/{name}).\n\n{text}"
        )


def write_deb(
    tree: str,
    name: str,
    launcher: str,
    *,
    version: str,
    arch: str,
    python_version: str,
    work_dir: str,
    out_path: str,
    environ: Mapping[str, str],
    mtime: int,
    meta: AppMetadata | None = None,
    echo: runner.Echo | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Build `out_path` from the bundle tree; (Depends entries, notes). With `meta` of a
    GUI app or one with an icon, the package installs its menu entry and icon too."""
    dpkg_deb = runner.require("dpkg-deb", environ, fix=_DPKG_FIX)
    package = package_name(name)
    root = os.path.join(work_dir, "deb-root")
    stage_package_root(root, tree, name, launcher, meta)
    install_dir = os.path.join(root, "opt", name)
    _write_copyright(root, package, name)
    needs = read_system_needs(install_dir, environ=environ)
    depends, notes = debian_depends(needs, environ=environ)
    installed_kib = _size_kib(install_dir)
    fields = control_fields(
        package,
        meta or _plain_metadata(name, version),
        version=version,
        arch=arch,
        python_version=python_version,
        installed_kib=installed_kib,
        depends=depends,
    )
    _write_control_dir(os.path.join(root, "DEBIAN"), fields)
    normalize_modes(root)
    build_environ = {**environ, "SOURCE_DATE_EPOCH": str(mtime)}
    runner.run(
        [dpkg_deb, "--root-owner-group", "-Zxz", "--build", root, out_path],
        environ=build_environ,
        echo=echo,
    )
    return depends, notes
