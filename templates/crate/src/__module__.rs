//! The Python module `{{module}}`, written in Rust.

use pyo3::prelude::*;

#[pymodule]
pub mod {{module}} {
    use pyo3::prelude::*;

    /// Greets `name` from Rust.
    #[pyfunction]
    fn greet(name: &str) -> String {
        format!("hello, {name}, from {{module}}")
    }
}
