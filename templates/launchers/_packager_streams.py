"""Keeps what Python prints in a Windows bundle whose program never finalizes Python.

A PyO3 program does not call Py_FinalizeEx, so what sys.stdout holds for a pipe or a
file when it exits is lost (on Linux the start-up code packager links in flushes it at
exit). Line buffering writes each line out as it is printed.
"""

import sys

for _stream in (sys.stdout, sys.stderr):
    if _stream is not None and hasattr(_stream, "reconfigure") and not _stream.isatty():
        _stream.reconfigure(line_buffering=True)
del _stream
