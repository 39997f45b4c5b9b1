"""A code-signing key on a PKCS#11 token (`bundle --sign-pkcs11-key URI`), for osslsigncode.

The key is an RFC 7512 `pkcs11:` URI (e.g. `pkcs11:token=release;object=codesign`); the
module is the token's PKCS#11 library (--sign-pkcs11-module, else p11-kit's proxy, which
loads every module p11-kit knows); the certificate is a `pkcs11:` URI on the token
(--sign-pkcs11-cert, by default the key's own object with `type=cert`) or a PEM/DER file
(--sign-cert). osslsigncode reaches the token through OpenSSL's `pkcs11` engine (libp11):
OpenSSL 3 builds of osslsigncode 2.9 know no provider for it. The PIN travels as the
PKCS#12 password does (authenticode.py): a pipe named by `-readpass`, which osslsigncode
hands the engine as the PIN; a URI holding one (`pin-value`) is refused.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass

from packager.core.errors import UsageError

SCHEME = "pkcs11:"
PROXY_MODULE = "p11-kit-proxy.so"
ENGINE_FIX = "install OpenSSL's PKCS#11 engine (Debian: apt-get install libengine-pkcs11-openssl)"
PIN_FIX = "set PACKAGER_SIGN_PASSWORD to the token's PIN, or pass --sign-password-file FILE"
_MODULE_FIX = (
    "name the token's PKCS#11 module with --sign-pkcs11-module (e.g. SoftHSM's "
    "/usr/lib/softhsm/libsofthsm2.so, OpenSC's opensc-pkcs11.so), or install p11-kit's "
    "proxy (Debian: apt-get install p11-kit-modules)"
)


@dataclass(frozen=True)
class TokenKey:
    """The token's key and certificate, and the module that reaches them."""

    key: str  # the private key's pkcs11: URI
    module: str  # the PKCS#11 module, an absolute path
    cert: str  # the certificate's pkcs11: URI on the token, or a PEM/DER file's absolute path

    def arguments(self) -> list[str]:
        """osslsigncode's options that sign with this key."""
        cert = ["-pkcs11cert" if self.cert.startswith(SCHEME) else "-certs", self.cert]
        return ["-pkcs11module", self.module, "-key", self.key, *cert]


def make_token_key(
    key: str | None,
    module: str | None,
    token_cert: str | None,
    cert_file: str | None,
    *,
    exists: Callable[[str], bool] = os.path.isfile,
) -> TokenKey | None:
    """The TokenKey of --sign-pkcs11-key `key` (None: no token signs), its module and
    certificate checked to be named well; the token itself is probed later."""
    if key is None:
        options = ("--sign-pkcs11-module", "--sign-pkcs11-cert", "--sign-cert")
        values = (module, token_cert, cert_file)
        given = [name for name, value in zip(options, values, strict=True) if value is not None]
        if given:
            raise UsageError(f"{given[0]} applies to a token's key: add --sign-pkcs11-key URI")
        return None
    _check_uri("--sign-pkcs11-key", key)
    if token_cert is not None and cert_file is not None:
        raise UsageError(
            "--sign-pkcs11-cert and --sign-cert both name the certificate: give one",
            fix="--sign-pkcs11-cert for one on the token, --sign-cert for a PEM/DER file",
        )
    if token_cert is not None:
        _check_uri("--sign-pkcs11-cert", token_cert)
    elif cert_file is not None and not exists(cert_file):
        raise UsageError("the certificate file of --sign-cert does not exist", path=cert_file)
    chosen = module if module is not None else default_module(exists)
    if chosen is None:
        raise UsageError(
            f"--sign-pkcs11-key needs the token's PKCS#11 module, and p11-kit's proxy "
            f"({PROXY_MODULE}) is not installed",
            fix=_MODULE_FIX,
        )
    if not exists(chosen):
        raise UsageError("the PKCS#11 module does not exist", path=chosen, fix=_MODULE_FIX)
    cert = token_cert or (os.path.abspath(cert_file) if cert_file else certificate_uri(key))
    return TokenKey(key, os.path.abspath(chosen), cert)


def _check_uri(option: str, uri: str) -> None:
    """Refuse what is not a pkcs11: URI, and one that holds the PIN."""
    if not uri.lower().startswith(SCHEME) or len(uri) == len(SCHEME):
        raise UsageError(
            f"{option} {uri!r} is not a PKCS#11 URI",
            fix="name the object as RFC 7512 does, e.g. pkcs11:token=release;object=codesign "
            "(pkcs11-tool --module MODULE --login -O lists a token's objects)",
        )
    if "pin-value=" in uri.lower():
        raise UsageError(
            f"{option} holds the token's PIN (pin-value): it would show on command lines",
            fix=f"drop pin-value from the URI and {PIN_FIX[0].lower()}{PIN_FIX[1:]}",
        )


def certificate_uri(key: str) -> str:
    """The URI of the certificate stored beside the key `key`: its object, `type=cert`."""
    path, question, query = key[len(SCHEME) :].partition("?")
    kept = [part for part in path.split(";") if part and not part.lower().startswith("type=")]
    return SCHEME + ";".join([*kept, "type=cert"]) + question + query


def default_module(exists: Callable[[str], bool] = os.path.isfile) -> str | None:
    """p11-kit's proxy module, if installed (None otherwise)."""
    multiarch = sysconfig.get_config_var("MULTIARCH")
    folders = [f"/usr/lib/{multiarch}"] if multiarch else []
    for folder in (*folders, "/usr/lib64", "/usr/lib"):
        path = os.path.join(folder, PROXY_MODULE)
        if exists(path):
            return path
    return None


# What osslsigncode (or libp11 through it) says, and what it means; the first found wins,
# so a refused PIN is named before the "key not found" that follows it.
_PROBLEMS = (
    ("Failed to find and load 'pkcs11' engine", "osslsigncode cannot load OpenSSL's "
     "PKCS#11 engine", ENGINE_FIX),
    ("Unable to load module", "the PKCS#11 module {module} does not load", _MODULE_FIX),
    ("PIN incorrect", "the token refuses the PIN given: it is wrong", PIN_FIX),
    ("PIN locked", "the token's PIN is locked", "unlock it with the token's SO PIN "
     "(pkcs11-tool --init-pin, or the token's own tool)"),
    ("No PIN code was entered", "the token needs a PIN, and none was given", PIN_FIX),
    ("No matching initialized token", "no token of {module} matches {key}",
     "list the tokens with pkcs11-tool --module {module} -L, and name one in the URI"),
    ("The private key was not found", "the token has no private key matching {key}",
     "list its objects with pkcs11-tool --module {module} --login -O"),
    ("The certificate was not found", "the token has no certificate matching {cert}",
     "check the URIs against the objects pkcs11-tool --module {module} --login -O lists; "
     "name a certificate kept elsewhere with --sign-pkcs11-cert URI or --sign-cert FILE"),
    ("key values mismatch", "the certificate {cert} is not the key's",
     "name the certificate issued for the key (--sign-pkcs11-cert or --sign-cert)"),
    # The check signs a PowerShell script, which osslsigncode signs from 2.8 on.
    ("unsupported input file type", "this osslsigncode is older than 2.8: it cannot sign "
     "the script packager checks the token with", "install osslsigncode 2.8 or newer "
     "(Debian 12: from bookworm-backports)"),
)  # fmt: skip


def token_problem(stderr: str, token: TokenKey) -> tuple[str, str] | None:
    """What osslsigncode's `stderr` says is wrong with the token, and the fix; None when
    it names no token problem."""
    for phrase, message, fix in _PROBLEMS:
        if phrase in stderr:
            names = {"module": token.module, "key": token.key, "cert": token.cert}
            return message.format(**names), fix.format(**names)
    return None
