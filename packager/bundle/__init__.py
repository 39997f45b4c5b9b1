"""Bundle a binary that embeds Python: a relocatable tree, archives, installers, and verify.

Library entry points: `bundle` (runs the pipeline for a BundleRequest and returns a
BundleRun) and `verify_bundle` (returns a VerifyResult). Nothing here prints or exits.
"""

from __future__ import annotations

from packager.bundle.model import (
    BundleFormat,
    BundleManifest,
    BundleOutput,
    SizeBreakdown,
    VerifyResult,
)
from packager.bundle.options import (
    BundleRequest,
    ContentOptions,
    ObtainOptions,
    OnefileOptions,
    parse_formats,
)
from packager.bundle.pipeline import BundleRun, bundle
from packager.bundle.verify import verify_bundle

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
