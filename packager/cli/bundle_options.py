"""`packager bundle`'s signing options: OpenPGP (--gpg-key) and Authenticode (--sign-*).

Their values never hold a secret: a key's passphrase and a PKCS#12 file's password come
from the environment or a file (packager/outputs/signing.py, authenticode.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from packager.bundle.options import CodeSigning

F = TypeVar("F", bound=Callable[..., object])

_OPTIONS = (
    click.option(
        "--gpg-key",
        default=None,
        metavar="KEYID",
        help="Sign OUT/SHA256SUMS (SHA256SUMS.asc) and .rpm packages with this gpg key; a "
        "passphrase comes from PACKAGER_GPG_PASSPHRASE.  [default: gpg-key in "
        "[package.metadata.packager.signing]]",
    ),
    click.option(
        "--sign-pfx",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help="Windows: Authenticode-sign NAME.exe and the unsigned DLLs in staging, then "
        "the .msi and setup.exe, with the certificate and key of this PKCS#12 file (with "
        "osslsigncode); its password comes from PACKAGER_SIGN_PASSWORD or "
        "--sign-password-file.  [default: pfx in [package.metadata.packager.signing]]",
    ),
    click.option(
        "--sign-password-file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        metavar="FILE",
        help="--sign-pfx: a file whose first line is the PKCS#12 file's password.",
    ),
    click.option(
        "--sign-timestamp",
        default=None,
        metavar="URL",
        help="--sign-pfx: an RFC 3161 time-stamping server, so signatures outlive the "
        "certificate.  [default: timestamp-url in [package.metadata.packager.signing]]",
    ),
)


def signing_options(function: F) -> F:
    """Add --gpg-key and the --sign-* options to a command."""
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


def code_signing(
    pfx: str | None,
    password_file: str | None,
    timestamp: str | None,
    package_dir: str | None,
) -> CodeSigning:
    """The Authenticode request: the flags over `pfx` and `timestamp-url` of the crate's
    [package.metadata.packager.signing]."""
    from packager.bundle.options import CodeSigning
    from packager.crate.appmeta import declared_authenticode

    declared_pfx, declared_timestamp = declared_authenticode(package_dir)
    chosen = pfx or declared_pfx
    if chosen is None:
        return CodeSigning(None, password_file, timestamp)
    return CodeSigning(chosen, password_file, timestamp or declared_timestamp, declared=pfx is None)
