//! The crate's own Python module, importable as `extmods_native`.

use pyo3::prelude::*;

/// The width of a pointer in bits, as the Rust side sees it.
#[pyfunction]
fn pointer_width() -> usize {
    usize::BITS as usize
}

#[pymodule]
pub fn extmods_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(pointer_width, module)?)?;
    Ok(())
}
