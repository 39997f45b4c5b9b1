"""The secrets a signing run reads from the environment, and the environment without them.

`bundle --gpg-key` reads the key's passphrase from PACKAGER_GPG_PASSPHRASE
(outputs/signing.py), `bundle --sign-pfx` the PKCS#12 password and `--sign-pkcs11-key`
the token's PIN from PACKAGER_SIGN_PASSWORD (outputs/authenticode.py). No program
packager starts inherits either: every child gets `child_environ`, and the signing tools
get the secret on a pipe.
"""

from __future__ import annotations

from collections.abc import Mapping

SECRET_VARIABLES = frozenset({"PACKAGER_GPG_PASSPHRASE", "PACKAGER_SIGN_PASSWORD"})


def child_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` as a program packager starts gets it: without SECRET_VARIABLES."""
    return {name: value for name, value in environ.items() if name not in SECRET_VARIABLES}
