"""A Windows Installer package (.msi) of a Windows bundle, built on Linux with msitools' wixl.

The package installs for the current user only, with no administrator rights: the tree
goes to %LOCALAPPDATA%\\Programs\\DISPLAY NAME, a shortcut to the program into the user's
Start menu, and Add/Remove Programs shows the publisher, the icon and the homepage.
Every file is a component of its own, whose GUID comes from the upgrade code and the
file's path in the bundle: the same file keeps its GUID from version to version, as
Windows Installer's component rules ask. A `MajorUpgrade` keyed on the upgrade code
removes any other installed version first, so a newer package replaces an older one in
place. Uninstalling removes the files, the folders, the shortcut and the one registry
value the shortcut's component keeps (a per-user component needs an HKCU key path).

The WiX source is made by `wix_source`, a pure function; `write_msi` runs wixl on it.
"""

from __future__ import annotations

import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core import runner
from packager.core.errors import UsageError
from packager.crate.appmeta import AppMetadata
from packager.outputs.windows import (
    InstallerJob,
    check_windows_name,
    install_folder,
    shortcut_program,
    windows_platform,
    write_icon,
)

ICON_ID = "AppIcon.ico"
_WIX_NAMESPACE = "http://schemas.microsoft.com/wix/2006/wi"
_WIXL_FIX = "install msitools' wixl (Debian: apt-get install wixl)"
_MSITOOLS_FIX = "install msitools (Debian: apt-get install msitools)"
# MSI's ProductVersion: major.minor.build, at most 255.255.65535.
_VERSION_LIMITS = (255, 255, 65535)
_NUMERIC_VERSION = re.compile(r"[0-9]+(\.[0-9]+){0,2}")
_PYCACHE = "__pycache__"
_CODE_PAGE = "cp1252"  # of the package's tables: wixl fails on any character outside it


@dataclass(frozen=True)
class MsiPlan:
    """What the package installs: the tree, its program, and how the app is described."""

    root: str  # the laid-out tree
    program: str  # what the shortcut starts, relative to root (NAME.exe or NAME.cmd)
    meta: AppMetadata
    platform: str  # the MSI platform: x64 or x86
    icon: str | None  # the .ico file, when the app has an icon
    base: str  # the folder of the .wxs file: wixl reads only paths relative to it
    cache_tag: str  # CPython's, in the names of the .pyc files it writes: cpython-311


def msi_version(version: str) -> str:
    """`version` as MSI's numeric ProductVersion (x.y.z), or a UsageError saying why not."""
    fix = "give --version as one to three numbers, e.g. --version 1.2.0"
    if not _NUMERIC_VERSION.fullmatch(version):
        raise UsageError(
            f"an .msi needs a numeric version (major.minor.build); {version!r} is not one",
            fix=fix,
        )
    parts = [int(part) for part in version.split(".")]
    parts += [0] * (3 - len(parts))
    for part, limit, label in zip(parts, _VERSION_LIMITS, ("major", "minor", "build"), strict=True):
        if part > limit:
            raise UsageError(
                f"an .msi version's {label} number is at most {limit}; {version!r} exceeds it",
                fix=fix,
            )
    return ".".join(str(part) for part in parts)


def check_metadata(meta: AppMetadata) -> None:
    """Refuse metadata an .msi cannot carry: a version that is not numeric, or text outside
    the Windows-1252 code page of the package's tables (wixl writes no other)."""
    msi_version(meta.version)
    for label, option, value in (
        ("display name", "--display-name", meta.display_name),
        ("publisher", "--publisher", meta.publisher),
        ("description", "--description", meta.summary),
        ("homepage", "--homepage", meta.homepage or ""),
    ):
        _check_msi_text(value, f"the {label} {value!r}", fix=f"give {option} without it")


def msi_file_name(name: str, version: str, arch: str) -> str:
    """NAME-VERSION-PLATFORM.msi; a UsageError when the version or machine cannot be one's."""
    return f"{name}-{msi_version(version)}-{windows_platform(arch)}.msi"


def component_guid(upgrade_code: str, key: str) -> str:
    """A GUID for component `key` (a path in the bundle) that stays the same across versions."""
    return str(uuid.uuid5(uuid.UUID(upgrade_code), f"component:{key}")).upper()


def product_code(upgrade_code: str, version: str) -> str:
    """The ProductCode of one version: a new one per version, as a major upgrade needs.

    A rebuild of the same version keeps it, so Windows Installer treats that package as
    the installed product: ship a changed build under a new version.
    """
    return str(uuid.uuid5(uuid.UUID(upgrade_code), f"product:{version}")).upper()


@dataclass(frozen=True)
class WixSource:
    """The WiX XML for wixl, and the rows it cannot express, as SQL for msibuild."""

    xml: str
    queries: tuple[str, ...]  # RemoveFile rows: wixl has no RemoveFile element


def wix_source(plan: MsiPlan) -> WixSource:
    """The WiX XML for `plan`, and the SQL that completes the package wixl makes of it."""
    meta = plan.meta
    check_metadata(meta)
    version = msi_version(meta.version)
    ET.register_namespace("", _WIX_NAMESPACE)
    wix = ET.Element(_tag("Wix"))
    product = _child(
        wix,
        "Product",
        Id=product_code(meta.upgrade_code, version),
        Name=meta.display_name,
        Language="1033",
        Version=version,
        Manufacturer=meta.publisher,
        UpgradeCode=meta.upgrade_code,
    )
    _child(
        product,
        "Package",
        InstallerVersion="500",
        Compressed="yes",
        InstallScope="perUser",
        Description=meta.summary,
        Manufacturer=meta.publisher,
    )
    _child(product, "Media", Id="1", Cabinet="app.cab", EmbedCab="yes")
    _child(
        product,
        "MajorUpgrade",
        DowngradeErrorMessage="A newer version of [ProductName] is already installed.",
    )
    properties = {"ARPNOMODIFY": "1", "ARPNOREPAIR": "1"}
    if plan.icon is not None:
        _child(product, "Icon", Id=ICON_ID, SourceFile=os.path.relpath(plan.icon, plan.base))
        properties["ARPPRODUCTICON"] = ICON_ID
    if meta.homepage is not None:
        properties["ARPURLINFOABOUT"] = meta.homepage
    for key, value in properties.items():
        _child(product, "Property", Id=key, Value=value)
    target = _child(product, "Directory", Id="TARGETDIR", Name="SourceDir")
    local = _child(target, "Directory", Id="LocalAppDataFolder")
    programs = _child(local, "Directory", Id="ProgramsFolder", Name="Programs")
    install = _child(programs, "Directory", Id="INSTALLDIR", Name=install_folder(meta))
    removals: list[_Removal] = []
    components = _add_tree(install, plan, "", removals)
    menu = _child(target, "Directory", Id="ProgramMenuFolder")
    components.append(_add_shortcut(menu, plan))
    feature = _child(product, "Feature", Id="Complete", Title=meta.display_name, Level="1")
    for component in components:
        _child(feature, "ComponentRef", Id=component)
    ET.indent(wix)
    xml = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(wix, encoding="unicode") + "\n"
    return WixSource(xml, tuple(removal.query() for removal in removals))


def plan_msi(
    root: str,
    name: str,
    meta: AppMetadata,
    *,
    arch: str,
    python_version: str,
    icon: str | None,
    base: str,
) -> MsiPlan:
    """The package of the bundle `name` laid out at `root`."""
    program = shortcut_program(name, meta)
    tag = cache_tag(python_version)
    return MsiPlan(root, program, meta, windows_platform(arch), icon, base, tag)


def cache_tag(python_version: str) -> str:
    """CPython's tag in the names of the .pyc files it writes: cpython-311 for 3.11.x."""
    major, minor = python_version.split(".")[:2]
    return f"cpython-{major}{minor}"


def write_msi(
    job: InstallerJob, environ: Mapping[str, str], echo: runner.Echo | None = None
) -> None:
    """Write the .msi of `job`'s tree, with its scratch directory for the WiX source."""
    wixl = runner.require("wixl", environ, fix=_WIXL_FIX)
    icon = write_icon(job.meta, os.path.join(job.work_dir, ICON_ID))
    plan = plan_msi(
        job.root,
        job.name,
        job.meta,
        arch=job.arch,
        python_version=job.python_version,
        icon=icon,
        base=job.work_dir,
    )
    source = wix_source(plan)
    source_path = os.path.join(job.work_dir, f"{job.name}.wxs")
    with open(source_path, "w", encoding="utf-8") as handle:
        handle.write(source.xml)
    runner.run(
        [wixl, "--arch", plan.platform, "--output", job.out_path, source_path],
        environ=environ,
        cwd=job.work_dir,
        echo=echo,
    )
    if source.queries:
        msibuild = runner.require("msibuild", environ, fix=_MSITOOLS_FIX)
        queries = [arg for query in source.queries for arg in ("-q", query)]
        runner.run([msibuild, job.out_path, *queries], environ=environ, cwd=job.work_dir, echo=echo)


def _add_tree(
    parent: ET.Element, plan: MsiPlan, relative: str, removals: list[_Removal]
) -> list[str]:
    """The folder at `relative` with its files and subfolders; the ids of their components.

    Each folder has a component that creates it and removes it on uninstall (Windows
    Installer leaves a folder in the user's profile behind otherwise); each file has one.
    """
    folder = _component(parent, plan, relative + "/")
    _child(folder, "CreateFolder")
    _child(folder, "RemoveFolder", Id=_id("r", relative + "/"), On="uninstall")
    components = [folder.attrib["Id"]]
    directory = os.path.join(plan.root, relative)
    entries = sorted(os.listdir(directory))
    sources = [entry for entry in entries if entry.endswith(".py")]
    if sources and _PYCACHE not in entries:
        components.append(_add_pycache(parent, plan, relative, sources, removals))
    for entry in entries:
        path = os.path.join(directory, entry)
        key = f"{relative}/{entry}" if relative else entry
        check_windows_name(entry, path)
        _check_msi_text(entry, "the file name", fix="rename the file", path=path)
        if os.path.isdir(path) and not os.path.islink(path):
            child = _child(parent, "Directory", Id=_id("d", key), Name=entry)
            components += _add_tree(child, plan, key, removals)
        else:
            component = _component(parent, plan, key)
            source = os.path.relpath(path, plan.base)
            _child(component, "File", Id=_id("f", key), Name=entry, Source=source, KeyPath="yes")
            components.append(component.attrib["Id"])
    return components


def _check_msi_text(text: str, what: str, *, fix: str, path: str | None = None) -> None:
    """Refuse text wixl would change or cannot write: any '$' (its preprocessor expands
    `$(env.X)` to the build machine's environment and drops a lone '$', and has no
    escape), and characters outside the tables' Windows-1252."""
    if "$" in text:
        raise UsageError(
            f"{what} holds '$', which wixl's preprocessor would expand or drop "
            "(`$(env.NAME)` becomes the build machine's variable)",
            path=path,
            fix=f"{fix}, or choose --format setup (NSIS keeps '$')",
        )
    try:
        text.encode(_CODE_PAGE)
    except UnicodeEncodeError as exc:
        raise UsageError(
            f"{what} holds {text[exc.start]!r}, which an .msi's Windows-1252 tables cannot",
            path=path,
            fix=f"{fix}, or choose --format setup (NSIS takes any Unicode)",
        ) from None


def _add_pycache(
    parent: ET.Element,
    plan: MsiPlan,
    relative: str,
    sources: list[str],
    removals: list[_Removal],
) -> str:
    """The __pycache__ folder CPython may write beside `sources`, emptied and removed on
    uninstall: its files were never installed, so nothing else would remove them.

    Windows Installer takes a wildcard; wine's takes only names, so the .pyc files CPython
    writes for each source are named as well.
    """
    key = f"{relative}/{_PYCACHE}" if relative else _PYCACHE
    directory = _child(parent, "Directory", Id=_id("d", key), Name=_PYCACHE)
    component = _component(directory, plan, key + "/")
    _child(component, "RemoveFolder", Id=_id("r", key + "/"), On="uninstall")
    names = ["*"]
    for source in sources:
        stem = source.removesuffix(".py")
        names += [f"{stem}.{plan.cache_tag}{opt}.pyc" for opt in ("", ".opt-1", ".opt-2")]
    for name in names:
        if "'" in name:
            continue  # an SQL string cannot hold it; the wildcard covers it on Windows
        key_of_row = _id("p", f"{key}/{name}")
        removals.append(_Removal(key_of_row, component.attrib["Id"], name, directory.attrib["Id"]))
    return component.attrib["Id"]


@dataclass(frozen=True)
class _Removal:
    """A RemoveFile row: a file of a folder, or all of them, deleted on uninstall."""

    key: str
    component: str
    file_name: str  # a name, or * for every file
    directory: str

    def query(self) -> str:
        # Identifiers are [a-z0-9_] only (see _id); file names with a quote are left out.
        return (
            "INSERT INTO `RemoveFile` (`FileKey`, `Component_`, `FileName`, `DirProperty`, "
            f"`InstallMode`) VALUES ('{self.key}', '{self.component}', '{self.file_name}', "
            f"'{self.directory}', 2)"
        )


def _add_shortcut(menu: ET.Element, plan: MsiPlan) -> str:
    """The Start-menu shortcut's component, kept by a value under HKCU."""
    meta = plan.meta
    # ":" is in no Windows file name, so no file of the bundle can share this GUID.
    component = _component(menu, plan, ":start-menu", component_id="StartMenuShortcut")
    shortcut = _child(
        component,
        "Shortcut",
        Id="StartMenuShortcut",
        Name=install_folder(meta),
        Description=meta.summary,
        Target=f"[INSTALLDIR]{plan.program}",
        WorkingDirectory="INSTALLDIR",
    )
    if plan.icon is not None:
        shortcut.set("Icon", ICON_ID)
    _child(
        component,
        "RegistryValue",
        Root="HKCU",
        Key=registry_key(meta),
        Name="StartMenuShortcut",
        Type="integer",
        Value="1",
        KeyPath="yes",
    )
    return "StartMenuShortcut"


def registry_key(meta: AppMetadata) -> str:
    """The HKCU key of the shortcut's key path: Software\\PUBLISHER\\NAME."""
    publisher = re.sub(r"[\\/]", "_", meta.publisher).strip() or meta.name
    return f"Software\\{publisher}\\{meta.name}"


def _component(
    parent: ET.Element, plan: MsiPlan, key: str, *, component_id: str | None = None
) -> ET.Element:
    """A component whose GUID comes from `key`: a file's path, or a folder's with a "/"."""
    guid = component_guid(plan.meta.upgrade_code, key)
    component = _child(parent, "Component", Id=component_id or _id("c", key), Guid=guid)
    if plan.platform == "x64":
        component.set("Win64", "yes")
    return component


def _id(kind: str, key: str) -> str:
    """A WiX identifier for the file, folder or component at `key`: stable and short."""
    return f"{kind}_{uuid.uuid5(uuid.NAMESPACE_URL, key).hex}"


def _tag(name: str) -> str:
    return f"{{{_WIX_NAMESPACE}}}{name}"


def _child(parent: ET.Element, name: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, _tag(name), attributes)
