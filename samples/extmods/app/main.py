"""Imports compiled extension modules and says where each came from.

Usage: extmods [SITE_DIR]. SITE_DIR (or $EXTMODS_SITE) is a directory holding
markupsafe, e.g. made with `pip install --target SITE_DIR markupsafe`; when it is given,
the interpreter's own site-packages are left out of sys.path so that the wheel really
comes from there. Exits 1 naming every module that failed to import, with the loader's
error (for a static binary built without --export-dynamic: "undefined symbol: Py...").
"""

import importlib
import os
import site
import sys
from decimal import Decimal

import extmods_native

MODULES = ("_decimal", "_ctypes", "_json", "markupsafe._speedups")

site_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("EXTMODS_SITE", "")
if site_dir:
    installed = {*site.getsitepackages(), site.getusersitepackages()}
    sys.path[:] = [site_dir, *(entry for entry in sys.path if entry not in installed)]

print(f"python {sys.version.split()[0]} ({extmods_native.pointer_width()}-bit)")
print(f"decimal {Decimal('1.10') + Decimal('2.20')}")  # exact: the _decimal module at work
failures = []
for name in MODULES:
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        failures.append(name)
        print(f"FAILED {name}: {error}", file=sys.stderr)
        continue
    print(f"imported {name} from {getattr(module, '__file__', '(built-in)')}")

if failures:
    sys.exit(f"could not import: {', '.join(failures)}")
