//! Embeds CPython, registers `guicore` and runs the app's `main.py` (a tkinter window).
//!
//! The script is read at run time from the folder in `PACKAGER_APP_DIR`: the bundle's
//! `app/` (set by its launcher, or by `bin/gui` itself when built by `packager build`).
//! Run from the crate (`cargo run`), the crate's own `app/` is used. A onefile program
//! carries the folder inside itself, on `sys.path`: there `main` is run as a module.

mod guicore;
mod packager_inittab;

use std::path::PathBuf;
use std::process::ExitCode;

use pyo3::exceptions::PySystemExit;
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn main() -> ExitCode {
    // Modules must be in the inittab before the interpreter starts.
    packager_inittab::register();
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

/// The app's folder: `PACKAGER_APP_DIR`, else the crate's `app/` (development runs).
fn app_dir() -> PathBuf {
    match std::env::var_os("PACKAGER_APP_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/app")),
    }
}

/// Runs `main.py` of the app's folder as `__main__`, with `sys.argv` from the command line.
/// In a onefile program the folder is inside the program's module archive, on `sys.path`:
/// there `main` is run as a module.
fn run_app(py: Python<'_>) -> PyResult<()> {
    let argv: Vec<String> = std::env::args().collect();
    py.import("sys")?.setattr("argv", argv)?;
    let script = app_dir().join("main.py");
    let kwargs = PyDict::new(py);
    kwargs.set_item("run_name", "__main__")?;
    let runpy = py.import("runpy")?;
    if script.is_file() {
        runpy.call_method("run_path", (script,), Some(&kwargs))?;
    } else {
        runpy.call_method("run_module", ("main",), Some(&kwargs))?;
    }
    Ok(())
}

/// Flushes Python's buffered `sys.stdout` and `sys.stderr`: the interpreter is never
/// finalized, so output written to a pipe or a file would otherwise be lost at exit.
fn flush_std_streams(py: Python<'_>) {
    if let Ok(sys) = py.import("sys") {
        for name in ["stdout", "stderr"] {
            if let Ok(stream) = sys.getattr(name) {
                let _ = stream.call_method0("flush");
            }
        }
    }
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
