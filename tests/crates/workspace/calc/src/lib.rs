//! A Python module defined in a library, registered by the program that uses it.

use pyo3::prelude::*;

#[pymodule]
pub mod wscalc {
    use pyo3::prelude::*;

    #[pyfunction]
    fn triple(value: i64) -> i64 {
        value * 3
    }
}
