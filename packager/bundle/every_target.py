"""One command, several targets: a crate bundled for each, its outputs under OUT/TRIPLE/.

Each target runs the ordinary pipeline with its own Python (a Windows target the
embeddable CPython, a Linux cross target the portable runtime of its architecture, this
machine its portable runtime or interpreter) and the requested formats its layout can write; a
format a target cannot take is skipped with a note. Every target's outputs are checked
for ones that exist (without --force) before any target is built. Then OUT/SHA256SUMS
lists every output of every target (merged with the lines of other runs into OUT), and
OUT/artifacts.json (schema artifacts-v1.json) describes each: target, format, path,
size, SHA-256, and the glibc it needs. A target that fails is reported, with why, and
the others still run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packager.binary.sbom import SBOM_SUFFIX
from packager.bundle.layouts import PE, TREE_LAYOUTS
from packager.bundle.options import BundleRequest, CodeSigning, given_options
from packager.bundle.pipeline import BundleRun, bundle, check_before_build
from packager.bundle.signed import check_signing
from packager.core.context import Context
from packager.core.errors import OutputExistsError, PackagerError, UsageError
from packager.core.fsutil import atomic_write_text
from packager.outputs.model import BundleFormat, BundleOutput
from packager.outputs.signing import make_signer, sign_detached
from packager.outputs.sums import merge_sums
from packager.targets import PythonSource, Target, target_named

ARTIFACTS_FILE = "artifacts.json"
_RELEASE = re.compile(r"3\.[0-9]{1,2}(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class TargetRun:
    """One target's bundle run."""

    target: Target
    run: BundleRun
    skipped: tuple[BundleFormat, ...]  # requested formats this target's layout cannot write


@dataclass(frozen=True)
class TargetFailure:
    """A target whose bundle could not be made, and why."""

    target: Target
    error: PackagerError


@dataclass(frozen=True)
class EveryTargetRun:
    """What a run over several targets wrote."""

    out_dir: str
    runs: tuple[TargetRun, ...]
    sums: str  # OUT/SHA256SUMS
    artifacts: str  # OUT/artifacts.json
    failed: tuple[TargetFailure, ...] = ()  # targets that wrote nothing; the others stand

    @property
    def ok(self) -> bool:
        """Whether every target was bundled and every verified output ran successfully."""
        return not self.failed and all(entry.run.ok for entry in self.runs)

    @property
    def exit_code(self) -> int:
        """0 when ok; else a failed target's exit code (the first), or 1 for a failed verify."""
        if self.failed:
            return self.failed[0].error.exit_code
        return 0 if self.ok else 1


def parse_targets(values: Sequence[str]) -> tuple[str, ...]:
    """--target values, each a triple or a comma-separated list, as triples in order, once."""
    triples = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(triples))


def bundle_every_target(
    request: BundleRequest, triples: Sequence[str], ctx: Context
) -> EveryTargetRun:
    """Bundle the crate of `request` for each of `triples` into OUT/TRIPLE/."""
    targets = [target_named(triple) for triple in triples]
    _check_request(request)
    signing = {"--sign-pfx", "--sign-pkcs11-key"}.intersection(given_options(request))
    if signing and all(TREE_LAYOUTS[target.layout] is not PE for target in targets):
        raise UsageError(f"{min(signing)} signs Windows programs; none of these targets is Windows")
    check_signing(request, ctx)  # once, before any target: each would fail alike
    _refuse_existing(request, targets, ctx)
    runs: list[TargetRun] = []
    failed: list[TargetFailure] = []
    for target in targets:
        sub, skipped = _target_request(request, target)
        if skipped:
            names = ", ".join(fmt.value for fmt in skipped)
            ctx.note(f"{target.triple}: skipped {names} (not an output of its layout)")
        if not sub.formats:
            continue
        ctx.progress(f"bundling for {target.triple}")
        os.makedirs(sub.out_dir, exist_ok=True)
        try:
            runs.append(TargetRun(target, bundle(sub, ctx), skipped))
        except PackagerError as exc:
            # The other targets go on: one target's missing tool loses none of theirs.
            ctx.note(f"{target.triple}: failed, the other targets go on: {exc.message}")
            failed.append(TargetFailure(target, exc))
    if not runs and failed:
        raise failed[0].error
    if not runs:
        raise UsageError(
            "none of the requested formats is an output of any of the targets",
            fix="add dir or an archive format (zip, tar.gz, tar.zst) to --format",
        )
    sums, artifacts = _write_indexes(request, runs, ctx, failed)
    return EveryTargetRun(request.out_dir, tuple(runs), sums, artifacts, tuple(failed))


def _check_request(request: BundleRequest) -> None:
    """Refuse what one value cannot mean for every target."""
    if request.onefile:
        raise UsageError(
            "--onefile writes one Linux program; it does not combine with several targets",
            fix="bundle each target with its own --target",
        )
    if request.content.python_home is not None:
        raise UsageError(
            "--python-home names one target's Python; with several targets each finds its own",
            fix="drop --python-home, or bundle that target alone",
        )
    if request.name is not None:
        raise UsageError(
            "--name names one output; with several targets each takes the program's name",
            fix="drop --name",
        )


def _refuse_existing(request: BundleRequest, targets: Sequence[Target], ctx: Context) -> None:
    """Refuse, before any target is built, an output of any target that exists (without
    --force). A target's other refusals are left to its own run, which reports them
    while the other targets go on."""
    for target in targets:
        sub, _ = _target_request(request, target)
        if not sub.formats:
            continue
        try:
            check_before_build(sub, ctx)
        except OutputExistsError:
            raise
        except PackagerError:
            continue  # its own run says why, and the other targets go on


def _target_request(
    request: BundleRequest, target: Target
) -> tuple[BundleRequest, tuple[BundleFormat, ...]]:
    """The request for one target, and the requested formats its layout cannot write."""
    layout = TREE_LAYOUTS[target.layout]
    wanted = request.formats or (BundleFormat.DIR,)
    formats = tuple(fmt for fmt in wanted if fmt in layout.formats)
    skipped = tuple(fmt for fmt in wanted if fmt not in layout.formats)
    # A release (3.X) chooses a Windows target's CPython; a path, this machine's interpreter.
    python = request.obtain.python
    release = python is not None and _RELEASE.fullmatch(python) is not None
    if release != (target.python is PythonSource.WINDOWS_HOME):
        python = None
    obtain = replace(request.obtain, target=target.triple, python=python)
    out_dir = os.path.join(request.out_dir, target.triple)
    # Authenticode signs the Windows targets' programs only.
    signing = request.code_signing if layout is PE else CodeSigning()
    sub = replace(request, out_dir=out_dir, formats=formats, obtain=obtain, code_signing=signing)
    return sub, skipped


def _write_indexes(
    request: BundleRequest,
    runs: Sequence[TargetRun],
    ctx: Context,
    failed: Sequence[TargetFailure] = (),
) -> tuple[str, str]:
    """OUT/SHA256SUMS (signed with --gpg-key) and OUT/artifacts.json over every output
    file of every run."""
    out_dir = request.out_dir
    signer = make_signer(request.gpg_key, ctx.environ, ctx.echo)
    sign = None if signer is None else lambda path: sign_detached(signer, path)
    digests = {
        os.path.relpath(output.path, out_dir): output.sha256
        for entry in runs
        for output in (entry.run.manifest.outputs if entry.run.manifest else ())
        # every output file and the SBOM beside it; each target's SHA256SUMS aside
        if output.sha256 is not None
        and (output.format is not None or output.path.endswith(SBOM_SUFFIX))
    }
    sums = merge_sums(out_dir, digests, sign=sign, note=ctx.note)
    artifacts = os.path.join(out_dir, ARTIFACTS_FILE)
    document = artifacts_document(out_dir, runs, failed)
    atomic_write_text(Path(artifacts), json.dumps(document, indent=2) + "\n")
    return sums, artifacts


def artifacts_document(
    out_dir: str, runs: Sequence[TargetRun], failed: Sequence[TargetFailure] = ()
) -> dict[str, Any]:
    """The artifacts-v1 document: one entry per output file or folder of every target,
    and the targets that failed, with why."""
    document = {
        "schema_version": 1,
        "artifacts": [
            {
                "target": target.triple,
                "system": target.system.value,
                "arch": target.arch,
                "format": output.format.value if output.format else None,
                "path": os.path.relpath(output.path, out_dir),
                "size": output.size,
                "sha256": output.sha256,
                "glibc_floor": floor,
            }
            for target, output, floor in _artifacts(runs)
        ],
    }
    if failed:
        document["failed"] = [
            {"target": entry.target.triple, "error": entry.error.message, "fix": entry.error.fix}
            for entry in failed
        ]
    return document


def _artifacts(runs: Sequence[TargetRun]) -> Iterator[tuple[Target, BundleOutput, str | None]]:
    """(target, output, glibc floor) of every output a run wrote, SHA256SUMS files aside."""
    for entry in runs:
        manifest = entry.run.manifest
        assert manifest is not None  # a tree layout: onefile is refused above
        for output in manifest.outputs:
            if output.format is not None:
                yield entry.target, output, manifest.glibc_floor
