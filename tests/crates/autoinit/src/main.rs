//! Lets PyO3 0.20's `auto-initialize` start Python, and prints through Python's `print`.

use pyo3::prelude::*;

fn main() -> PyResult<()> {
    Python::with_gil(|py| {
        py.run(
            "import json, sys\nprint(json.dumps({'pyo3': '0.20', 'python': sys.version_info[:2]}))\nprint('prefix', sys.prefix)\n",
            None,
            None,
        )
    })
}
