"""`bundle --sign-pkcs11-key` and its companions, refused or resolved before any tool runs:
the key URI, the module, the certificate, the PIN, the crate's keys under the flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from packager.cli.bundle_options import code_signing
from packager.core.errors import UsageError
from packager.outputs.authenticode import PASSWORD_ENV, make_code_signer
from packager.outputs.pkcs11 import TokenKey, default_module, make_token_key, token_problem

KEY = "pkcs11:token=release;object=codesign"
FLAGS = dict.fromkeys(
    ("sign_pfx", "sign_password_file", "sign_timestamp", "sign_pkcs11_key",
     "sign_pkcs11_module", "sign_pkcs11_cert", "sign_cert"),
)  # fmt: skip


def _module(tmp_path: Path) -> str:
    module = tmp_path / "libtoken.so"
    module.write_bytes(b"")  # only its existence is checked here
    return str(module)


def test_a_pfx_and_a_token_key_together_are_refused(tmp_path: Path) -> None:
    pfx = tmp_path / "code.pfx"
    pfx.write_bytes(b"")
    token = make_token_key(KEY, _module(tmp_path), None, None)
    with pytest.raises(UsageError, match="--sign-pfx and --sign-pkcs11-key both name"):
        make_code_signer(str(pfx), None, None, {PASSWORD_ENV: "1234"}, token=token)


def test_a_module_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.so")
    with pytest.raises(UsageError, match="the PKCS#11 module does not exist") as raised:
        make_token_key(KEY, missing, None, None)
    assert raised.value.path == missing


def test_a_key_that_is_not_a_pkcs11_uri_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=re.escape("'signing/code.key' is not a PKCS#11 URI")):
        make_token_key("signing/code.key", _module(tmp_path), None, None)


def test_a_uri_holding_the_pin_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="holds the token's PIN"):
        make_token_key(f"{KEY}?pin-value=1234", _module(tmp_path), None, None)


def test_a_certificate_option_without_a_token_key_is_refused() -> None:
    with pytest.raises(UsageError, match="--sign-cert applies to a token's key"):
        make_token_key(None, None, None, "code.pem")


def test_the_certificate_is_the_keys_object_by_default(tmp_path: Path) -> None:
    token = make_token_key(f"{KEY};type=private", _module(tmp_path), None, None)
    assert token is not None and token.cert == f"{KEY};type=cert"


def test_p11_kit_proxy_is_the_default_module() -> None:
    found = default_module(lambda path: path.endswith("/p11-kit-proxy.so"))
    assert found is not None and found.endswith("/p11-kit-proxy.so")


def test_no_module_and_no_proxy_is_refused() -> None:
    with pytest.raises(UsageError, match="needs the token's PKCS#11 module"):
        make_token_key(KEY, None, None, None, exists=lambda path: False)


def test_a_token_key_without_a_pin_is_refused(tmp_path: Path) -> None:
    token = make_token_key(KEY, _module(tmp_path), None, None)
    with pytest.raises(UsageError, match="the token's PIN is missing"):
        make_code_signer(None, None, None, {}, token=token)


def test_a_refused_pin_is_named_before_the_key_it_hides() -> None:
    stderr = (
        "Login failed\nThe private key was not found at: pkcs11:token=release\n"
        "error:430000A0:PKCS#11 module:ERR_CKR_error:PIN incorrect:p11_slot.c:208:\n"
    )
    token = TokenKey(KEY, "/usr/lib/libtoken.so", f"{KEY};type=cert")
    problem = token_problem(stderr, token)
    assert problem is not None and problem[0] == "the token refuses the PIN given: it is wrong"


def test_an_osslsigncode_without_script_signing_is_named() -> None:
    stderr = (
        "Unrecognized file type - file is too short: probe.ps1\n"
        "Initialization error or unsupported input file type.\n"
    )
    token = TokenKey(KEY, "/usr/lib/libtoken.so", f"{KEY};type=cert")
    problem = token_problem(stderr, token)
    assert problem is not None and problem[1].startswith("install osslsigncode 2.8 or newer")


def test_a_pfx_flag_sets_the_crates_token_key_aside(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "0.1.0"\n\n[package.metadata.packager.signing]\n'
        f'pkcs11-key = "{KEY}"\npkcs11-module = "/usr/lib/libtoken.so"\n'
    )
    chosen = code_signing({**FLAGS, "sign_pfx": "code.pfx"}, str(tmp_path))
    assert (chosen.pfx, chosen.pkcs11_key, chosen.pkcs11_module) == ("code.pfx", None, None)


def test_the_crate_names_the_token_key_and_module(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "0.1.0"\n\n[package.metadata.packager.signing]\n'
        f'pkcs11-key = "{KEY}"\npkcs11-module = "/usr/lib/libtoken.so"\n'
    )
    chosen = code_signing(FLAGS, str(tmp_path))
    assert (chosen.pkcs11_key, chosen.pkcs11_module, chosen.declared) == (
        KEY,
        "/usr/lib/libtoken.so",
        True,
    )
