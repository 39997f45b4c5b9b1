"""`sbom.cdx.json` in a bundle: what it ships, as a CycloneDX 1.5 JSON document.

It is made from the components licences.py found for `licenses/` (the same names,
licences and covered paths, the crates of the crate's Cargo.lock among them; a Windows
bundle's come from layouts/pe_notices.py):

- `metadata.component`: the app (type application; its name, the version of its
  Cargo.toml, its licence), the subject of the document; `metadata.tools` names packager;
  `metadata.timestamp` is there only when SOURCE_DATE_EPOCH is set, and is that time;
- `components`, in this order:
  - CPython (type framework; `pkg:generic/cpython@VERSION`); from a portable runtime, its
    selector (`packager:runtime`) and what it was built with (`packager:build:KEY`, from
    its manifest) as properties;
  - each library a portable runtime links into its modules (type library): the Debian
    source package it was built from (`pkg:deb/debian/SOURCE@VERSION?arch=source`), else
    `pkg:generic/NAME@VERSION` (tkinter's release tarballs); the source file and its
    SHA-256 as properties;
  - each Debian package a vendored library or data file came from (type library;
    `pkg:deb/debian/NAME@VERSION?arch=ARCH`, version and architecture from dpkg);
  - each distribution of site-packages (type library; `pkg:pypi/NAME@VERSION`);
  - each crate of Cargo.lock from a registry or git (type library; `pkg:cargo/NAME@VERSION`,
    bom-ref `cargo:NAME@VERSION`), covering the program it is compiled into, with the
    licence its Cargo.toml states and its lock file's `source` (`packager:cargo-source`);
  - each shipped file (type file, named by its path in the bundle, `hashes` its SHA-256):
    every ELF file (every PE file, in a Windows bundle), and every file a component names
    on its own (the launcher, the stdlib's top-level .pyc files). The link scheme: a file
    component carries one property `packager:component` per component that covers it,
    whose value is that component's `bom-ref`; a component lists what it covers (files
    and folders ending in `/`, as `licenses/README` does) as `packager:covers` properties.
- `dependencies`: the app depends on every component but the files.

Licences are an SPDX expression when valid (sbom_ids.py), else a licence name. The
document carries no time of its own, and its `serialNumber` is a UUID made from the
SHA-256 of the rest of it, so two bundles of the same input carry the same bytes.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packager import __version__
from packager.binary.elf_head import elf_files_under
from packager.binary.sbom import SBOM_NAME
from packager.bundle import stdlib
from packager.bundle.licences import Notice, covers
from packager.bundle.sbom_ids import debian_packages, licence_entry, purl
from packager.core.fsutil import sha256_file
from packager.python.portable.store import Runtime, read_runtime
from packager.python.runtime import PythonRuntime

SPEC_VERSION = "1.5"
_SCHEMA = "http://cyclonedx.org/schema/bom-1.5.schema.json"
_SOURCE_FILE = re.compile(r"(?P<package>[a-z0-9][a-z0-9+.-]+)_(?P<version>[^_/]+?)\.orig\.tar")
_DEBIAN_PART = re.compile(r"(?P<package>[a-z0-9][a-z0-9+.-]+)_(?P<version>[^_/ ]+?)\.debian\.tar")
# Manifest keys that are not build options (or are said elsewhere).
_NOT_OPTIONS = frozenset({"sources", "python", "schema_version"})
_UNHASHED = ("$schema", "serialNumber")  # what the serial number is not derived from
_ORDER = ("type", "bom-ref", "name", "version", "purl", "licenses")  # a component's keys


@dataclass(frozen=True)
class SbomFacts:
    """What the SBOM says beyond the components licences.py found."""

    name: str  # the bundle's (and app's) name
    version: str  # the app's version (Cargo.toml)
    runtime: PythonRuntime | None  # None: a Windows home (no portable runtime's facts)
    sysroot: str = "/"  # where the Debian packages of vendored files are installed
    deb_arch: str = ""  # Debian's name for the bundle's architecture (a root's packages)


def write_sbom(
    root: str,
    notices: Iterable[Notice],
    facts: SbomFacts,
    environ: Mapping[str, str],
    shipped: Iterable[str] | None = None,
) -> str:
    """Write sbom.cdx.json at the top of the tree `root`; its path. `shipped`: the
    binaries to list (absolute paths), else every ELF file of the tree."""
    listed = list(notices)
    document = sbom_document(tree_files(root, listed, shipped), listed, facts, environ)
    path = os.path.join(root, SBOM_NAME)
    stdlib.write_text(path, dump(document))
    return path


def dump(document: Mapping[str, Any]) -> str:
    """The document as packager writes it: indented JSON, one trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def sbom_document(
    files: Mapping[str, str],
    notices: list[Notice],
    facts: SbomFacts,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """The CycloneDX document of a bundle whose `files` ({path in the bundle: the file
    on disk}) are listed with their hashes."""
    refs = _unique_refs(notices)
    app = next(n for n in notices if n.kind == "app")  # licences.py always makes one
    subject = _component(app, "app")
    if facts.version:
        subject = {**subject, "name": facts.name, "version": facts.version}
        subject = _ordered(subject)
    packages = [
        _package(notice, refs[id(notice)], facts)
        for notice in notices
        if notice.kind and notice.kind != "app"
    ]
    _add_debian_versions(packages, notices, facts, environ)
    file_components = _files(files, notices, refs)
    metadata: dict[str, Any] = {
        "tools": {
            "components": [{"type": "application", "name": "packager", "version": __version__}]
        },
        "component": subject,
    }
    timestamp = _timestamp(environ)
    if timestamp:
        metadata = {"timestamp": timestamp, **metadata}
    listed = [_ordered(item) for item in packages]
    document: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": metadata,
        "components": [*listed, *file_components],
        "dependencies": [
            {"ref": subject["bom-ref"], "dependsOn": [item["bom-ref"] for item in listed]}
        ],
    }
    return {"$schema": _SCHEMA, **_serial(document)}


def _ordered(component: dict[str, Any]) -> dict[str, Any]:
    """`component` with its keys in the order of _ORDER (then the others)."""
    return {key: component[key] for key in _ORDER if key in component} | component


def _serial(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with a serialNumber derived from its content (a UUID of version 5's
    form made of its SHA-256), after bomFormat and specVersion."""
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).digest()
    serial = f"urn:uuid:{uuid.UUID(bytes=digest[:16], version=5)}"
    head = {key: document[key] for key in ("bomFormat", "specVersion")}
    return {**head, "serialNumber": serial, **document}


def _timestamp(environ: Mapping[str, str]) -> str | None:
    """SOURCE_DATE_EPOCH as an ISO 8601 UTC time; None when unset (or not a time)."""
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value.isdigit():
        return None
    moment = datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _unique_refs(notices: list[Notice]) -> dict[int, str]:
    """{id(notice): its bom-ref} of each notice with a kind; a ref met again (two
    .dist-info folders of one name, in two site folders) gets "#2", "#3"... after it."""
    refs: dict[int, str] = {}
    seen: dict[str, int] = {}
    for notice in notices:
        if notice.kind:
            ref = _ref(notice)
            seen[ref] = seen.get(ref, 0) + 1
            refs[id(notice)] = ref if seen[ref] == 1 else f"{ref}#{seen[ref]}"
    return refs


def _ref(notice: Notice) -> str:
    """A component's bom-ref: its kind and name, unique in the document."""
    if notice.kind in ("app", "cpython"):
        return notice.kind
    if notice.kind == "cargo":  # a lock file may hold two versions of one crate
        return f"cargo:{notice.name}@{notice.version}"
    return f"{notice.kind}:{notice.name}"


def _component(notice: Notice, ref: str) -> dict[str, Any]:
    """The fields every component made from a notice has."""
    kinds = {"app": "application", "cpython": "framework"}
    component: dict[str, Any] = {
        "type": kinds.get(notice.kind, "library"),
        "bom-ref": ref,
        "name": notice.name,
    }
    if notice.version:
        component["version"] = notice.version
    licences = licence_entry(notice.licence)
    if licences:
        component["licenses"] = licences
    if notice.covers:
        component["properties"] = [
            {"name": "packager:covers", "value": path} for path in notice.covers
        ]
    return component


def _package(notice: Notice, ref: str, facts: SbomFacts) -> dict[str, Any]:
    """The component of a notice other than the app's, with its package URL."""
    component = _component(notice, ref)
    extra: list[dict[str, str]] = []
    if notice.kind == "cpython":
        component["purl"] = purl("generic", "cpython", notice.version)
        extra = _runtime_properties(facts.runtime)
    elif notice.kind == "pypi":
        component["purl"] = purl("pypi", notice.name, notice.version)
    elif notice.kind == "cargo":
        component["purl"] = purl("cargo", notice.name, notice.version)
        extra = [{"name": "packager:cargo-source", "value": notice.source}]
    elif notice.kind == "runtime-source":
        extra = _source_facts(component, notice, facts.runtime)
    properties = [*component.get("properties", []), *extra]
    if properties:
        component["properties"] = properties
    return component


def _portable(runtime: PythonRuntime | None) -> Runtime | None:
    if runtime is None:
        return None
    return read_runtime(os.path.dirname(os.path.dirname(runtime.stdlib_dir)))


def _runtime_properties(runtime: PythonRuntime | None) -> list[dict[str, str]]:
    """A portable runtime's selector and build options; [] for another interpreter."""
    portable = _portable(runtime)
    if portable is None:
        return []
    options = [
        {"name": f"packager:build:{key}", "value": _text(value)}
        for key, value in sorted(portable.manifest.items())
        if key not in _NOT_OPTIONS
    ]
    return [{"name": "packager:runtime", "value": portable.selector}, *options]


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _source_facts(
    component: dict[str, Any], notice: Notice, runtime: PythonRuntime | None
) -> list[dict[str, str]]:
    """Set the package URL of a portable runtime's library from the source it was built
    from; its source file and SHA-256 as properties."""
    portable = _portable(runtime)
    sources = portable.manifest.get("sources", {}) if portable else {}
    facts = sources.get(notice.name, {}) if isinstance(sources, dict) else {}
    file = str(facts.get("file", "")) if isinstance(facts, dict) else ""
    orig = _SOURCE_FILE.match(file)
    debian = _DEBIAN_PART.search(notice.origin)  # "debian/copyright of NAME_V.debian.tar.xz"
    if orig is not None:
        package = orig.group("package")
        version = orig.group("version")
        if debian is not None and debian.group("package") == package:
            version = debian.group("version")  # with Debian's revision
        component["purl"] = purl("deb", package, version, namespace="debian", arch="source")
    else:
        component["purl"] = purl("generic", notice.name, notice.version)
    found = [("packager:source-file", file)]
    if isinstance(facts, dict) and facts.get("sha256"):
        found.append(("packager:source-sha256", str(facts["sha256"])))
    return [{"name": name, "value": value} for name, value in found if value]


def _add_debian_versions(
    packages: list[dict[str, Any]],
    notices: list[Notice],
    facts: SbomFacts,
    environ: Mapping[str, str],
) -> None:
    """Give each Debian package component its version and package URL."""
    names = [notice.name for notice in notices if notice.kind == "deb"]
    found = debian_packages(names, facts.sysroot, environ, facts.deb_arch)
    for component in packages:
        if not component["bom-ref"].startswith("deb:"):
            continue
        installed = found.get(component["name"])
        version = installed.version if installed else ""
        arch = installed.arch if installed else ""
        if version:
            component["version"] = version
        component["purl"] = purl("deb", component["name"], version, namespace="debian", arch=arch)


def tree_files(
    root: str, notices: Iterable[Notice], shipped: Iterable[str] | None = None
) -> dict[str, str]:
    """{bundle path: file} of what the SBOM of the tree `root` lists: every ELF file (or
    each of `shipped`, absolute paths) and every file a notice names on its own."""
    binaries = elf_files_under(root) if shipped is None else shipped
    paths = {os.path.relpath(path, root).replace(os.sep, "/") for path in binaries}
    for notice in notices:
        paths.update(
            entry
            for entry in notice.covers
            if not entry.endswith("/") and os.path.isfile(os.path.join(root, *entry.split("/")))
        )
    return {relative: os.path.join(root, *relative.split("/")) for relative in sorted(paths)}


def _files(
    files: Mapping[str, str], notices: list[Notice], refs: Mapping[int, str]
) -> list[dict[str, Any]]:
    """A file component for each of `files`, linked to the notices that cover it."""
    found: list[dict[str, Any]] = []
    for relative in sorted(files):
        owners = [refs[id(n)] for n in notices if id(n) in refs and covers(n, relative)]
        component: dict[str, Any] = {
            "type": "file",
            "bom-ref": f"file:{relative}",
            "name": relative,
            "hashes": [{"alg": "SHA-256", "content": sha256_file(files[relative])}],
        }
        if owners:
            component["properties"] = [
                {"name": "packager:component", "value": ref} for ref in dict.fromkeys(owners)
            ]
        found.append(component)
    return found


def refresh_file_hashes(root: str) -> None:
    """Hash the files the tree's sbom.cdx.json lists again, and derive its serial number
    anew: for a tree whose programs were changed after it was written (signed). A tree
    without one is left as it is."""
    path = os.path.join(root, SBOM_NAME)
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    for component in document.get("components", []):
        if component.get("type") == "file":
            file = os.path.join(root, *str(component["name"]).split("/"))
            component["hashes"] = [{"alg": "SHA-256", "content": sha256_file(file)}]
    body = {key: value for key, value in document.items() if key not in _UNHASHED}
    stdlib.write_text(path, dump({"$schema": _SCHEMA, **_serial(body)}))
