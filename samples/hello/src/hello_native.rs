//! The crate's own Python module, importable as `hello_native`.

use pyo3::prelude::*;

#[pymodule]
pub mod hello_native {
    use pyo3::prelude::*;

    /// Greets `name` from Rust.
    #[pyfunction]
    fn greet(name: &str) -> String {
        format!("hello, {name}, from Rust")
    }

    /// Adds two integers in Rust.
    #[pyfunction]
    fn add(left: i64, right: i64) -> i64 {
        left + right
    }
}
