"""The {{name}} application, run by the Rust binary with its modules registered."""

import sys

{{module_imports}}

print(f"Python {sys.version.split()[0]}")
{{module_calls}}
