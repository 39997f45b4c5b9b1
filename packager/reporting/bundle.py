"""Reports of `packager bundle` and `packager verify`: one document per result, as text or JSON.

Schemas: packager/schema/bundle-v1.json (a tree bundle), onefile-v1.json (`--onefile`),
verify-v1.json (`packager verify`), verify-gui-v1.json (`packager verify --gui`).
"""

from __future__ import annotations

from typing import Any

from packager.binary.sbom import SBOM_NAME
from packager.bundle.licences import INDEX
from packager.bundle.onefile.builder import OnefileResult
from packager.bundle.onefile.extensions import Placement
from packager.bundle.pipeline import BundleRun
from packager.outputs.model import BundleManifest
from packager.reporting import SCHEMA_VERSION, dumps
from packager.verify.gui import GuiResult
from packager.verify.model import VerifyResult

_MEGABYTE = 1e6


def manifest_document(manifest: BundleManifest) -> dict[str, Any]:
    """The manifest as plain data (the bundle document's `bundle` member)."""
    sizes = manifest.sizes
    return {
        "name": manifest.name,
        "source_binary": manifest.source_binary,
        "binary_format": manifest.binary_format.value,
        "link_mode": manifest.link_mode.value,
        "python_version": manifest.python_version,
        "interpreter": manifest.interpreter,
        "runtime": manifest.runtime,
        "launcher": manifest.launcher,
        "binary": manifest.binary,
        "rpath_patched": manifest.rpath_patched,
        "export_env": manifest.export_env,
        "zip_stdlib": manifest.zip_stdlib,
        "stripped": manifest.stripped,
        "trimmed": list(manifest.trimmed),
        "kept": list(manifest.kept),
        "requirements": list(manifest.requirements),
        "deb_depends": list(manifest.deb_depends),
        "sizes": {
            "binary": sizes.binary,
            "libpython": sizes.libpython,
            "stdlib": sizes.stdlib,
            "site_packages": sizes.site_packages,
            "app": sizes.app,
            "other": sizes.other,
            "total": sizes.total,
        },
        "outputs": [
            {
                "format": out.format.value if out.format else None,
                "path": out.path,
                "size": out.size,
                "sha256": out.sha256,
            }
            for out in manifest.outputs
        ],
        "notes": list(manifest.notes),
        "glibc_floor": manifest.glibc_floor,
        "glibc_floor_file": manifest.glibc_floor_file,
        "vendored": list(manifest.vendored),
        "licenses": None
        if manifest.licenses is None
        else {"index": manifest.licenses, "unlicensed": list(manifest.unlicensed)},
    }


def onefile_document(result: OnefileResult) -> dict[str, Any]:
    """A onefile program as plain data (the top level of the onefile document)."""
    return {
        "path": result.path,
        "size": result.size,
        "sha256": result.sha256,
        "program_size": result.executable_size,
        "archive_size": result.archive_size,
        "archive_members": result.archive_members,
        "python_version": result.python_version,
        "interpreter": result.interpreter,
        "source_binary": result.source_binary,
        "search_paths": list(result.search_paths),
        "stripped": result.stripped,
        "trimmed": list(result.trimmed),
        "kept": list(result.kept),
        "extensions": [
            {
                "name": plan.name,
                "placement": plan.placement.value,
                "member": plan.member,
                "reason": plan.reason,
                "system_libraries": list(plan.system_libraries),
                "libraries": list(plan.libraries),
            }
            for plan in result.extensions
        ],
        "notes": list(result.notes),
        "sbom": result.sbom,
        "licenses": {"index": INDEX, "unlicensed": list(result.unlicensed)},
    }


def verify_document(result: VerifyResult) -> dict[str, Any]:
    """A verify result as plain data."""
    return {
        "subject": result.subject,
        "ok": result.ok,
        "returncode": result.returncode,
        "command": list(result.command),
        "sandbox_path": result.sandbox_path,
        "hidden": list(result.hidden),
        "root": result.root,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "notes": list(result.notes),
        "check": {
            "kind": result.expectation.check.value,
            "port": result.expectation.port,
            "pattern": result.expectation.pattern,
            "timeout": result.timeout,
            "outcome": result.outcome.value,
            "verdict": result.verdict,
        },
    }


def to_document(run: BundleRun) -> dict[str, Any]:
    """The JSON document of a bundle run.

    `verify` is the last output verified (the one earlier versions verified), `verified`
    lists every output's result in the order written.
    """
    verified = [verify_document(result) for result in run.verified]
    last = verified[-1] if verified else None
    if run.onefile is not None:
        document = {"schema_version": SCHEMA_VERSION, **onefile_document(run.onefile)}
        return {**document, "verify": last, "verified": verified}
    assert run.manifest is not None
    document = {"schema_version": SCHEMA_VERSION, "bundle": manifest_document(run.manifest)}
    if last is not None:
        document |= {"verify": last, "verified": verified}
    return document


def to_json(run: BundleRun) -> str:
    """The JSON text of a bundle run."""
    return dumps(to_document(run))


def to_text(run: BundleRun) -> str:
    """A bundle run for people: what was written, then how each output ran."""
    document = to_document(run)
    if run.onefile is not None:
        lines = _onefile_lines(run.onefile, document)
    else:
        lines = _manifest_lines(document["bundle"])
    for result in document.get("verified", []):
        lines.extend(_verify_lines(result))
    return "\n".join(lines)


def verify_to_document(result: VerifyResult) -> dict[str, Any]:
    """The JSON document of `packager verify`."""
    return {"schema_version": SCHEMA_VERSION, "verify": verify_document(result)}


def verify_to_json(result: VerifyResult) -> str:
    """The JSON text of `packager verify`."""
    return dumps(verify_to_document(result))


def verify_to_text(result: VerifyResult) -> str:
    """How the program ran in the sandbox, for people."""
    return "\n".join(_verify_lines(verify_to_document(result)["verify"]))


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):7.1f} MiB"


def _manifest_lines(data: dict[str, Any]) -> list[str]:
    lines = [
        f"{data['name']}: {data['link_mode']} embed of Python {data['python_version']} "
        + (
            f"(portable runtime, --python {data['runtime']}, from {data['interpreter']})"
            if data["runtime"]
            else f"(stdlib from {data['interpreter']})"
        ),
        "sizes:",
    ]
    for part in ("binary", "libpython", "stdlib", "site_packages", "app", "other", "total"):
        lines.append(f"  {part.replace('_', '-'):<14}{_mib(data['sizes'][part])}")
    if data["trimmed"]:
        lines.append("trimmed: " + ", ".join(data["trimmed"]) + " (put back with --keep)")
    if data["requirements"]:
        lines.append("site-packages: " + ", ".join(data["requirements"]))
    if data["vendored"]:
        lines.append("shipped from the system: " + ", ".join(data["vendored"]))
    if data["glibc_floor"]:
        lines.append(f"glibc floor: {data['glibc_floor']} (set by {data['glibc_floor_file']})")
    if data["deb_depends"]:
        lines.append("deb Depends: " + ", ".join(data["deb_depends"]))
    lines.append("wrote:")
    for out in data["outputs"]:
        digest = f"  sha256 {out['sha256'][:16]}…" if out["sha256"] else ""
        lines.append(f"  {out['path']}  ({_mib(out['size']).strip()}){digest}")
    lines.extend(f"note: {note}" for note in data["notes"])
    return lines


def _onefile_lines(result: OnefileResult, document: dict[str, Any]) -> list[str]:
    lines = [
        f"wrote {document['path']} ({document['size'] / _MEGABYTE:.2f} MB: program "
        f"{document['program_size'] / _MEGABYTE:.2f} MB + modules "
        f"{document['archive_size'] / _MEGABYTE:.2f} MB in {document['archive_members']} files)",
        f"  python      {document['python_version']} (standard library of "
        f"{document['interpreter']})",
        f"  sha256      {document['sha256']}",
    ]
    counts = {placement: len(result.placed(placement)) for placement in Placement}
    lines.append(
        f"  extensions  {counts[Placement.MEMORY]} loaded from the file, "
        f"{counts[Placement.BUILTIN]} built in, {counts[Placement.IMPOSSIBLE]} left out"
    )
    width = max((len(plan.name) for plan in result.extensions), default=0)
    lines += [
        f"    {plan.name:<{width}}  {plan.reason}"
        for plan in result.extensions
        if plan.placement is not Placement.BUILTIN
        and (plan.system_libraries or plan.libraries or plan.placement is Placement.IMPOSSIBLE)
    ]
    lines.append(f"  licences    {INDEX} inside ({result.licence_components} components)")
    lines.append(f"  sbom        {SBOM_NAME} inside, and {document['sbom']}")
    lines += [f"  note: {note}" for note in document["notes"]]
    return lines


def _verify_lines(data: dict[str, Any]) -> list[str]:
    status = "ok" if data["ok"] else "FAILED"
    lines = [
        f"verify {data['subject']}: {status} ({data['check']['verdict']})",
        f"  ran {' '.join(data['command'])} with no Python visible"
        + ("" if data["root"] == "/" else f", over the system at {data['root']}"),
    ]
    for name in ("stdout", "stderr"):
        if data[name].strip():
            lines.append(f"  {name}:")
            lines.extend(f"    {line}" for line in data[name].rstrip("\n").splitlines())
    lines.extend(f"  note: {note}" for note in data["notes"])
    return lines


def gui_to_document(result: GuiResult) -> dict[str, Any]:
    """The JSON document of `packager verify --gui` (verify-gui-v1.json): the window showed."""
    return {
        "schema_version": SCHEMA_VERSION,
        "verify_gui": {
            "subject": result.subject,
            "ok": True,
            "root": result.root,
            "command": list(result.command),
            "window_title": result.window_title,
            "window_name": result.window_name,
            "screenshot": result.screenshot,
        },
    }


def gui_to_json(result: GuiResult) -> str:
    """The JSON text of `packager verify --gui`."""
    return dumps(gui_to_document(result))


def gui_to_text(result: GuiResult) -> str:
    """How a GUI program showed its window on the virtual screen, for people."""
    data = gui_to_document(result)["verify_gui"]
    lines = [
        f"verify {data['subject']}: ok (window shown)",
        f"  ran {' '.join(data['command'])} on a virtual screen with no Python visible"
        + ("" if data["root"] == "/" else f", over the system at {data['root']}"),
        f"  window: {data['window_name']!r}",
    ]
    if data["screenshot"] is not None:
        lines.append(f"  screenshot: {data['screenshot']}")
    return "\n".join(lines)
