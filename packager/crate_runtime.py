"""The start-up code a crate compiles in: `src/packager_runtime.rs`, from the templates.

`packager build` refreshes it in every crate that has one (as it does the inittab file),
so a crate picks up a newer payload format without anyone editing it by hand.
"""

from __future__ import annotations

from pathlib import Path

from packager.fsutil import write_text_if_changed
from packager.resources import templates_dir

RUNTIME_FILE = "packager_runtime.rs"


def runtime_source() -> str:
    """The Rust source of `src/packager_runtime.rs`."""
    return (templates_dir() / "runtime" / RUNTIME_FILE).read_text(encoding="utf-8")


def write_runtime(crate_dir: Path) -> bool:
    """Write `src/packager_runtime.rs` if its content changed; True when it was written.

    An unchanged file keeps its mtime, so a no-op `cargo build` stays a no-op.
    """
    return write_text_if_changed(crate_dir / "src" / RUNTIME_FILE, runtime_source())
