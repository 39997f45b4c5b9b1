//! An interactive program: asks for two whole numbers on its standard input and prints
//! their sum, computed by Python. With nothing to read, parsing fails (ParseIntError).

use std::ffi::CString;
use std::io::{stdin, stdout, Write};

use pyo3::prelude::*;

fn read_number(prompt: &str) -> i64 {
    print!("{prompt}? ");
    stdout().flush().expect("stdout is writable");
    let mut line = String::new();
    stdin().read_line(&mut line).expect("stdin is readable");
    line.trim().parse::<i64>().expect("a whole number")
}

fn main() -> PyResult<()> {
    let first = read_number("first");
    let second = read_number("second");
    let code = CString::new(format!("print()\nprint('sum', {first} + {second})"))
        .expect("code without NUL bytes");
    Python::initialize();
    Python::attach(|py| py.run(&code, None, None))
}
