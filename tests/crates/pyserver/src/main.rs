//! A server in the shape of many embedding apps: Rust registers a module of its own
//! (`serverinfo`) before Python starts, then imports `routes.py` from its working
//! directory, which serves HTTP on 127.0.0.1:8080 until the program is stopped. With
//! `--never-listen` it only says it is starting and waits, never opening a port.

use pyo3::prelude::*;

#[pymodule]
mod serverinfo {
    use pyo3::prelude::*;

    #[pyfunction]
    fn banner(port: u16) -> String {
        format!("listening on {port}")
    }
}

fn main() -> PyResult<()> {
    let never_listen = std::env::args().nth(1).as_deref() == Some("--never-listen");
    pyo3::append_to_inittab!(serverinfo);
    Python::initialize();
    Python::attach(|py| {
        if never_listen {
            py.run(
                c"import time
print('starting, but never listening', flush=True)
time.sleep(3600)",
                None,
                None,
            )
        } else {
            let sys = py.import("sys")?;
            sys.getattr("path")?.call_method1("insert", (0, "."))?;
            py.import("routes")?.call_method1("serve", (8080,))?;
            Ok(())
        }
    })
}
