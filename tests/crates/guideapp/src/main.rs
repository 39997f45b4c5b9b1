//! Embeds Python the way PyO3 0.29's guide does, and prints through Python's `print`.

use pyo3::prelude::*;

#[pymodule]
mod greeter {
    use pyo3::prelude::*;

    #[pyfunction]
    fn greet(name: &str) -> String {
        format!("hello, {name}, from Rust")
    }
}

fn main() -> PyResult<()> {
    pyo3::append_to_inittab!(greeter);
    Python::initialize();
    Python::attach(|py| {
        py.run(
            c"import decimal, greeter, sys
print(greeter.greet('guide'))
print('decimal', decimal.Decimal('1.10') + decimal.Decimal('2.20'))
print('prefix', sys.prefix)",
            None,
            None,
        )
    })
}
