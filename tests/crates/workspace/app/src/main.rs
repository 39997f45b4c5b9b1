//! Registers the library member's module, then starts Python as PyO3's guide shows.

use pyo3::prelude::*;
use ws_calc::wscalc;

fn main() -> PyResult<()> {
    pyo3::append_to_inittab!(wscalc);
    Python::initialize();
    Python::attach(|py| {
        py.run(
            c"import decimal, wscalc
print('triple', wscalc.triple(14))
print('decimal', decimal.Decimal('0.1') + decimal.Decimal('0.2'))",
            None,
            None,
        )
    })
}
