"""Restore the environment variables the bundle's launcher changed, for child processes.

The launcher saves each original value in PACKAGER_ORIG_<VAR> (absent when the variable
was unset) and lists the names in PACKAGER_RESTORE. By the time site.py imports this
module, the loader and the interpreter have read what they need, so the process
environment (what subprocess and std::process::Command pass on) goes back to the user's.
"""

import os


def _restore() -> None:
    names = os.environ.pop("PACKAGER_RESTORE", None)
    if names is None:
        return
    for name in names.split():
        saved = os.environ.pop("PACKAGER_ORIG_" + name, None)
        if saved is None or (os.name == "nt" and saved == ""):
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


_restore()
