"""packager: build, inspect, bundle and ship Rust programs that embed CPython through PyO3."""

__version__ = "0.1.0"
