"""The crate the user wrote: scaffold, `#[pymodule]` inittab, PyO3 config, cargo builds.

Owns: `packager new`, finding and registering the crate's modules, the PyO3 config file
(native and cross), workspaces, the start-up code linked into every program, the app
metadata read from Cargo.toml, and turning cargo and linker failures into explanations.
May import: core, targets, binary, python.
"""
