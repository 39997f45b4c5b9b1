//! Reads `python_program.py` from the working directory, runs it, and leaves with
//! `std::process::exit`, as many embedding programs do.

use std::ffi::CString;
use std::process::exit;

use pyo3::prelude::*;

fn main() {
    let source = match std::fs::read_to_string("python_program.py") {
        Ok(source) => source,
        Err(err) => {
            eprintln!("cannot read python_program.py: {err}");
            exit(2);
        }
    };
    let code = CString::new(source).expect("a script without NUL bytes");
    Python::initialize();
    let status = Python::attach(|py| match py.run(&code, None, None) {
        Ok(()) => 0,
        Err(err) => {
            err.print(py);
            1
        }
    });
    exit(status);
}
