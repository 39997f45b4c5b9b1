//! Imports a package installed from PyPI, with the GIL taken as PyO3 0.18 takes it.

use pyo3::prelude::*;

fn main() -> PyResult<()> {
    Python::with_gil(|py| {
        let requests = py.import("requests")?;
        let version: String = requests.getattr("__version__")?.extract()?;
        let url = requests
            .getattr("Request")?
            .call1(("GET", "https://example.org/a b"))?
            .call_method0("prepare")?
            .getattr("url")?;
        println!("requests {}", version.split('.').next().unwrap_or("?"));
        println!("url {}", url);
        Ok(())
    })
}
