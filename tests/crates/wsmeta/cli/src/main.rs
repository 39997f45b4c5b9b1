//! Hands the library member's sentence to Python and prints what it counts.

use pyo3::prelude::*;
use pyo3::types::PyDict;

fn main() -> PyResult<()> {
    Python::attach(|py| {
        let locals = PyDict::new(py);
        locals.set_item("sentence", wsmeta_words::SENTENCE)?;
        py.run(c"print('words', len(sentence.split()))", None, Some(&locals))
    })
}
