//! Embeds CPython, registers `hello_native` and runs `app/main.py`.

mod hello_native;
mod packager_inittab;

use std::ffi::CString;
use std::process::ExitCode;

use pyo3::exceptions::PySystemExit;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The application script, compiled in so the binary needs no script file at run time.
const APP_SOURCE: &str = include_str!("../app/main.py");

fn main() -> ExitCode {
    // Modules must be in the inittab before the interpreter starts.
    packager_inittab::register();
    // `packager build` links in start-up code that this reaches: in a onefile program or a
    // bundle, Python starts from what the program carries, and output is flushed at exit.
    Python::initialize();
    Python::attach(|py| {
        let status = match run_app(py) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => exit_code_for(py, err),
        };
        flush_std_streams(py);
        status
    })
}

/// Flushes Python's buffered `sys.stdout` and `sys.stderr`: the interpreter is never
/// finalized, so output written to a pipe or a file would otherwise be lost at exit when
/// the crate is built with plain cargo (`packager build` links in a flush at exit too).
fn flush_std_streams(py: Python<'_>) {
    if let Ok(sys) = py.import("sys") {
        for name in ["stdout", "stderr"] {
            if let Ok(stream) = sys.getattr(name) {
                let _ = stream.call_method0("flush");
            }
        }
    }
}

/// Runs the script as `__main__`, with `sys.argv` set from the command line.
fn run_app(py: Python<'_>) -> PyResult<()> {
    let argv: Vec<String> = std::env::args().collect();
    py.import("sys")?.setattr("argv", argv)?;
    let source = CString::new(APP_SOURCE)?;
    let globals = PyDict::new(py);
    globals.set_item("__name__", "__main__")?;
    py.run(&source, Some(&globals), None)
}

/// Maps a Python exception to an exit status the way `python script.py` does:
/// `sys.exit(n)` exits with n, anything else prints the traceback and exits with 1.
fn exit_code_for(py: Python<'_>, err: PyErr) -> ExitCode {
    if err.is_instance_of::<PySystemExit>(py) {
        let code = err.value(py).getattr("code").ok();
        match code {
            Some(code) if code.is_none() => return ExitCode::SUCCESS,
            Some(code) => {
                if let Ok(status) = code.extract::<u8>() {
                    return ExitCode::from(status);
                }
                eprintln!("{code}");
            }
            None => {}
        }
        return ExitCode::FAILURE;
    }
    err.print(py);
    ExitCode::FAILURE
}
