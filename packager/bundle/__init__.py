"""Bundle a binary that embeds Python: the pipeline and the layouts.

The pipeline obtains the program (built from a crate, or given), lays it out with the
layout its target asks for (`layouts/`: an ELF tree, a PE tree, or `onefile/`), trims
and ships the standard library, site-packages and system libraries, then hands the tree
to `outputs` and, with --verify, to `verify`. Library entry points: `bundle` (runs the
pipeline for a BundleRequest and returns a BundleRun) and `verify_bundle` (re-exported
from `verify`). Nothing here prints or exits. May import every stage below it: core,
targets, binary, python, crate, outputs, verify.
"""

from __future__ import annotations

from packager.bundle.options import (
    BundleRequest,
    ContentOptions,
    ObtainOptions,
    OnefileOptions,
    parse_formats,
)
from packager.bundle.pipeline import BundleRun, bundle
from packager.outputs.model import (
    BundleFormat,
    BundleManifest,
    BundleOutput,
    SizeBreakdown,
)
from packager.verify.model import VerifyResult
from packager.verify.sandbox import verify_bundle

__all__ = [
    "BundleFormat",
    "BundleManifest",
    "BundleOutput",
    "BundleRequest",
    "BundleRun",
    "ContentOptions",
    "ObtainOptions",
    "OnefileOptions",
    "SizeBreakdown",
    "VerifyResult",
    "bundle",
    "parse_formats",
    "verify_bundle",
]
