"""Bundle a binary that embeds Python: a relocatable tree, archives, installers, and verify.

Library entry points: `bundle_binary` (returns a BundleManifest) and `verify_bundle`
(returns a VerifyResult). Nothing here prints or exits.
"""

from __future__ import annotations

from packager.bundle.bundler import bundle_binary, output_names, parse_formats
from packager.bundle.model import (
    BundleFormat,
    BundleManifest,
    BundleOutput,
    SizeBreakdown,
    VerifyResult,
)
from packager.bundle.runtime import PythonRuntime, find_runtime
from packager.bundle.verify import verify_bundle

__all__ = [
    "BundleFormat",
    "BundleManifest",
    "BundleOutput",
    "PythonRuntime",
    "SizeBreakdown",
    "VerifyResult",
    "bundle_binary",
    "find_runtime",
    "output_names",
    "parse_formats",
    "verify_bundle",
]
