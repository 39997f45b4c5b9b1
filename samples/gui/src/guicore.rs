//! The crate's own Python module, importable as `guicore`.

use pyo3::prelude::*;

#[pymodule]
pub mod guicore {
    use pyo3::prelude::*;

    /// The `n`th Fibonacci number (fib(0) = 0, fib(1) = 1), computed in Rust.
    #[pyfunction]
    fn fib(n: u32) -> PyResult<u64> {
        let (mut current, mut next) = (0u64, 1u64);
        for _ in 0..n {
            let sum = current.checked_add(next).ok_or_else(|| {
                pyo3::exceptions::PyOverflowError::new_err(format!("fib({n}) overflows u64"))
            })?;
            current = next;
            next = sum;
        }
        Ok(current)
    }
}
