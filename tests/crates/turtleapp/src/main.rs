//! Draws with turtle: the Python is compiled into the program (`include_str!`), so no
//! script of the app names tkinter where a bundler looking at files would see it.

use std::ffi::CString;

use pyo3::prelude::*;

const DRAWING: &str = include_str!("drawing.py");

fn main() -> PyResult<()> {
    let code = CString::new(DRAWING).expect("a script without NUL bytes");
    Python::initialize();
    Python::attach(|py| py.run(&code, None, None))
}
