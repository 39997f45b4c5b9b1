"""`packager bundle`'s signing options: OpenPGP (--gpg-key) and Authenticode (--sign-*).

Their values never hold a secret: a key's passphrase, a PKCS#12 file's password and a
token's PIN come from the environment or a file (packager/outputs/signing.py,
authenticode.py, pkcs11.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

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
        help="--sign-pfx, --sign-pkcs11-key: a file whose first line is the PKCS#12 file's "
        "password, or the token's PIN.",
    ),
    click.option(
        "--sign-timestamp",
        default=None,
        metavar="URL",
        help="--sign-pfx, --sign-pkcs11-key: an RFC 3161 time-stamping server, so signatures "
        "outlive the certificate.  [default: timestamp-url in "
        "[package.metadata.packager.signing]]",
    ),
    click.option(
        "--sign-pkcs11-key",
        default=None,
        metavar="URI",
        help="Windows: Authenticode-sign as --sign-pfx does, with this private key on a "
        "PKCS#11 token (an RFC 7512 URI, e.g. pkcs11:token=release;object=codesign); the "
        "PIN comes from PACKAGER_SIGN_PASSWORD or --sign-password-file.  [default: "
        "pkcs11-key in [package.metadata.packager.signing]]",
    ),
    click.option(
        "--sign-pkcs11-module",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="PATH",
        help="--sign-pkcs11-key: the token's PKCS#11 module (.so).  [default: pkcs11-module "
        "in [package.metadata.packager.signing], else p11-kit's proxy module]",
    ),
    click.option(
        "--sign-pkcs11-cert",
        default=None,
        metavar="URI",
        help="--sign-pkcs11-key: the code-signing certificate on the token.  [default: "
        "pkcs11-cert in [package.metadata.packager.signing], else the key's object with "
        "type=cert]",
    ),
    click.option(
        "--sign-cert",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help="--sign-pkcs11-key: the code-signing certificate as a PEM or DER file, instead "
        "of one on the token.  [default: cert in [package.metadata.packager.signing]]",
    ),
)
# A key given by flag sets aside the crate's keys of the other kind.
_TOKEN_KEYS = ("pkcs11-key", "pkcs11-module", "pkcs11-cert", "cert")


def signing_options(function: F) -> F:
    """Add --gpg-key and the --sign-* options to a command."""
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


def code_signing(flags: Mapping[str, Any], package_dir: str | None) -> CodeSigning:
    """The Authenticode request: each --sign-* flag of `flags` (the command's parameters)
    over its key in the crate's [package.metadata.packager.signing]."""
    from packager.bundle.options import CodeSigning

    pfx, key = flags["sign_pfx"], flags["sign_pkcs11_key"]
    declared = _declared(package_dir, pfx_flag=pfx is not None, key_flag=key is not None)
    if flags["sign_pkcs11_cert"] is not None or flags["sign_cert"] is not None:
        declared = {name: value for name, value in declared.items() if "cert" not in name}

    def chosen(flag: str, name: str) -> str | None:
        value: str | None = flags[flag]
        return value if value is not None else declared.get(name)

    password_file, timestamp = flags["sign_password_file"], flags["sign_timestamp"]
    if chosen("sign_pfx", "pfx") is None and chosen("sign_pkcs11_key", "pkcs11-key") is None:
        # No key: the crate's other keys alone ask for nothing; a stray flag is refused later.
        return CodeSigning(
            None,
            password_file,
            timestamp,
            pkcs11_module=flags["sign_pkcs11_module"],
            pkcs11_cert=flags["sign_pkcs11_cert"],
            cert=flags["sign_cert"],
        )
    return CodeSigning(
        chosen("sign_pfx", "pfx"),
        password_file,
        chosen("sign_timestamp", "timestamp-url"),
        declared=pfx is None and key is None,
        pkcs11_key=chosen("sign_pkcs11_key", "pkcs11-key"),
        pkcs11_module=chosen("sign_pkcs11_module", "pkcs11-module"),
        pkcs11_cert=chosen("sign_pkcs11_cert", "pkcs11-cert"),
        cert=chosen("sign_cert", "cert"),
    )


def _declared(package_dir: str | None, *, pfx_flag: bool, key_flag: bool) -> dict[str, str]:
    """The crate's Authenticode keys, without those of the other kind than a flag's key."""
    from packager.crate.appmeta import declared_authenticode

    declared = declared_authenticode(package_dir)
    if pfx_flag:
        return {name: value for name, value in declared.items() if name not in _TOKEN_KEYS}
    if key_flag:
        return {name: value for name, value in declared.items() if name != "pfx"}
    return declared
