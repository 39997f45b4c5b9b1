"""Render bundle manifests and verify results: one dict per result, shown as text or JSON."""

from __future__ import annotations

import json
from typing import Any

from packager.bundle.model import BundleManifest, VerifyResult

SCHEMA_VERSION = 1


def manifest_to_dict(manifest: BundleManifest) -> dict[str, Any]:
    """The manifest as plain data (the JSON document's `bundle` member)."""
    sizes = manifest.sizes
    return {
        "name": manifest.name,
        "source_binary": manifest.source_binary,
        "binary_format": manifest.binary_format.value,
        "link_mode": manifest.link_mode.value,
        "python_version": manifest.python_version,
        "interpreter": manifest.interpreter,
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
    }


def verify_to_dict(result: VerifyResult) -> dict[str, Any]:
    """The verify result as plain data."""
    return {
        "subject": result.subject,
        "ok": result.ok,
        "returncode": result.returncode,
        "command": list(result.command),
        "sandbox_path": result.sandbox_path,
        "hidden": list(result.hidden),
        "stdout": result.stdout,
        "stderr": result.stderr,
    }


def to_json(manifest: BundleManifest | None, verify: VerifyResult | None) -> str:
    """The versioned JSON document for a bundle run and/or a verify run."""
    document: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    if manifest is not None:
        document["bundle"] = manifest_to_dict(manifest)
    if verify is not None:
        document["verify"] = verify_to_dict(verify)
    return json.dumps(document, indent=2)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):7.1f} MiB"


def to_text(manifest: BundleManifest | None, verify: VerifyResult | None) -> str:
    """The same data for people."""
    lines: list[str] = []
    if manifest is not None:
        data = manifest_to_dict(manifest)
        lines.append(
            f"{data['name']}: {data['link_mode']} embed of Python {data['python_version']} "
            f"(stdlib from {data['interpreter']})"
        )
        lines.append("sizes:")
        for part in ("binary", "libpython", "stdlib", "site_packages", "app", "other", "total"):
            lines.append(f"  {part.replace('_', '-'):<14}{_mib(data['sizes'][part])}")
        if data["trimmed"]:
            lines.append("trimmed: " + ", ".join(data["trimmed"]) + " (put back with --keep)")
        if data["requirements"]:
            lines.append("site-packages: " + ", ".join(data["requirements"]))
        if data["deb_depends"]:
            lines.append("deb Depends: " + ", ".join(data["deb_depends"]))
        lines.append("wrote:")
        for out in data["outputs"]:
            digest = f"  sha256 {out['sha256'][:16]}…" if out["sha256"] else ""
            lines.append(f"  {out['path']}  ({_mib(out['size']).strip()}){digest}")
        lines.extend(f"note: {note}" for note in data["notes"])
    if verify is not None:
        data = verify_to_dict(verify)
        status = "ok" if data["ok"] else f"FAILED (exit code {data['returncode']})"
        lines.append(f"verify {data['subject']}: {status}")
        lines.append(f"  ran {' '.join(data['command'])} with no Python visible")
        for name in ("stdout", "stderr"):
            if data[name].strip():
                lines.append(f"  {name}:")
                lines.extend(f"    {line}" for line in data[name].rstrip("\n").splitlines())
    return "\n".join(lines)
