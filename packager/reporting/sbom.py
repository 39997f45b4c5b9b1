"""`packager inspect --sbom PATH`: a bundle's SBOM read back, as text or as the document.

PATH is a bundle folder (its sbom.cdx.json), a `.cdx.json` file, or an archive packager
wrote: .tar.gz, .tar.zst (through `zstd -d`), .zip, or .deb (through `dpkg-deb
--fsys-tarfile`; the bundle is under opt/NAME/), or a onefile program (an ELF file with
a zip appended: its sbom.cdx.json member). Only the SBOM member is read, streamed,
and never more than binary.sbom's size limit; nothing is extracted to disk. An .rpm and
the .sh installer are not read: their OUTPUT.cdx.json beside them is the same document.

Unlike the other reports, the JSON is not a packager document with a `schema_version`:
it is the CycloneDX document itself, as the bundle carries it (CycloneDX 1.5's schema).
"""

from __future__ import annotations

import json
import os
import posixpath
import subprocess
import tarfile
import zipfile
from collections.abc import Mapping
from typing import IO, Any

from packager.binary.elf_head import is_elf
from packager.binary.sbom import (
    MAX_SBOM_SIZE,
    SBOM_NAME,
    SBOM_SUFFIX,
    components,
    parse_sbom,
    read_folder_sbom,
    read_sbom_file,
)
from packager.core import runner
from packager.core.errors import UnreadableInputError
from packager.core.secrets import child_environ

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_PIPED = {  # suffix: (tool, its arguments before the file, how to install it)
    ".tar.zst": ("zstd", ("-q", "-d", "-c"), "install zstd (Debian: apt-get install zstd)"),
    ".deb": ("dpkg-deb", ("--fsys-tarfile",), "install dpkg (Debian: it is always there)"),
}


def load_sbom(path: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """The SBOM of the bundle folder, archive or .cdx.json file at `path`."""
    if os.path.isdir(path):
        return read_folder_sbom(path)
    if not os.path.exists(path):
        raise UnreadableInputError("no such file or folder", path=path)
    if not os.path.isfile(path):
        raise UnreadableInputError(
            "not a file or folder (a FIFO, socket or device is never read)", path=path
        )
    if path.endswith(SBOM_SUFFIX) or path.endswith(".json"):
        return read_sbom_file(path)
    if path.endswith(_TAR_SUFFIXES):
        return _from_tar_file(path)
    if path.endswith(".zip"):
        return _from_zip(path)
    if is_elf(path):
        return _from_program(path)
    for suffix, (tool, arguments, fix) in _PIPED.items():
        if path.endswith(suffix):
            return _from_pipe([_tool(tool, environ, fix), *arguments, path], path)
    raise UnreadableInputError(
        "inspect --sbom reads a bundle folder, .tar.gz, .tar.zst, .zip, .deb, .cdx.json or "
        "onefile program",
        path=path,
        fix=f"read the {SBOM_SUFFIX} that `packager bundle` wrote beside it: "
        f"{os.path.basename(path)}{SBOM_SUFFIX}",
    )


def _is_sbom(name: str) -> bool:
    """Whether an archive member is a bundle's SBOM: NAME/sbom.cdx.json, or a package's
    opt/NAME/sbom.cdx.json."""
    parts = posixpath.normpath(name.lstrip("/")).split("/")
    if parts and parts[0] == ".":
        parts = parts[1:]
    return parts[-1:] == [SBOM_NAME] and (
        len(parts) == 2 or (len(parts) == 3 and parts[0] == "opt")
    )


def _missing(path: str) -> UnreadableInputError:
    return UnreadableInputError(
        f"the archive holds no {SBOM_NAME}",
        path=path,
        fix="bundle it again with this packager: every bundle it writes carries one",
    )


def _read_member(handle: IO[bytes] | None, path: str) -> dict[str, Any]:
    if handle is None:
        raise _missing(path)
    data = handle.read(MAX_SBOM_SIZE + 1)
    if len(data) > MAX_SBOM_SIZE:
        raise UnreadableInputError(f"its {SBOM_NAME} is too large for an SBOM", path=path)
    return parse_sbom(data, path)


def _tool(program: str, environ: Mapping[str, str], fix: str) -> str:
    """The tool that unpacks the archive; reading it is impossible without (exit 2: inspect
    runs no tool of its own)."""
    found = runner.which(program, environ)
    if found is None:
        raise UnreadableInputError(f"reading it needs '{program}', which is not on PATH", fix=fix)
    return found


def _from_tar_file(path: str) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r:*") as tar:
            return _from_tar(tar, path)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnreadableInputError(f"not a readable archive: {exc}", path=path) from None


def _from_tar(tar: tarfile.TarFile, path: str) -> dict[str, Any]:
    try:
        for member in tar:
            if member.isfile() and _is_sbom(member.name):
                return _read_member(tar.extractfile(member), path)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnreadableInputError(f"not a readable archive: {exc}", path=path) from None
    raise _missing(path)


def _from_zip(path: str) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and _is_sbom(info.filename):
                    with archive.open(info) as handle:
                        return _read_member(handle, path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableInputError(f"not a readable zip: {exc}", path=path) from None
    raise _missing(path)


def _from_program(path: str) -> dict[str, Any]:
    """The SBOM member at the top of the archive a onefile program has appended."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo(SBOM_NAME)
            except KeyError:
                raise _missing(path) from None
            with archive.open(info) as handle:
                return _read_member(handle, path)
    except (zipfile.BadZipFile, OSError):
        raise UnreadableInputError(
            "an ELF file with no archive appended: not a onefile program, and a program "
            "alone carries no SBOM",
            path=path,
            fix=f"read the bundle it came in (its folder, archive or {SBOM_SUFFIX}), or a "
            "program `packager bundle --onefile` wrote",
        ) from None


def _from_pipe(command: list[str], path: str) -> dict[str, Any]:
    """Stream the tar that `command` writes to its output, and read the SBOM from it."""
    with subprocess.Popen(
        command, env=child_environ(os.environ), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as process:
        assert process.stdout is not None
        try:
            with tarfile.open(fileobj=process.stdout, mode="r|") as tar:
                return _from_tar(tar, path)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise UnreadableInputError(
                f"not a readable archive ({os.path.basename(command[0])} gave no tar: {exc})",
                path=path,
            ) from None
        finally:
            process.kill()


def to_json(document: Mapping[str, Any]) -> str:
    """The document itself, indented."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def to_text(document: Mapping[str, Any]) -> str:
    """One line per component: kind, name and version, licence, package URL; then each
    file with the start of its SHA-256."""
    found = components(dict(document))
    files = [item for item in found if item.get("type") == "file"]
    lines = [
        f"SBOM: CycloneDX {document.get('specVersion', '?')}, {document.get('serialNumber', '')}",
        f"{len(found) - len(files)} components, {len(files)} files",
    ]
    for item in found:
        if item.get("type") == "file":
            continue
        name = f"{item.get('name', '?')} {item.get('version', '')}".strip()
        facts = [_licence(item), str(item.get("purl", ""))]
        line = f"  {item.get('type', '?'):<12} {name:<36} {'  '.join(f for f in facts if f)}"
        lines.append(line.rstrip())
    for item in files:
        digest = next(
            (h.get("content", "") for h in item.get("hashes", []) if h.get("alg") == "SHA-256"), ""
        )
        lines.append(f"  file         {item.get('name', '?'):<56} sha256 {digest[:16]}")
    return "\n".join(lines).rstrip()


def _licence(component: Mapping[str, Any]) -> str:
    names = []
    for entry in component.get("licenses", []):
        if "expression" in entry:
            names.append(str(entry["expression"]))
        else:
            licence = entry.get("license", {})
            names.append(str(licence.get("id") or licence.get("name") or ""))
    return ", ".join(name for name in names if name)
