"""Authenticode signing with a key on a PKCS#11 token (`bundle --sign-pkcs11-key URI`):
a SoftHSM2 token made here holds the code-signing key (and certificate) of the test CA of
test_authenticode.py, and osslsigncode reaches it through OpenSSL's pkcs11 engine.

The token lives in its own SOFTHSM2_CONF and token folder, outside the folders a run
writes to, so "the PIN is written nowhere" looks at the run's out, cache and temp files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import run_packager, uncompilable_hello
from tests.integration.test_authenticode import (  # noqa: F401
    PASSWORD_ENV,
    CodeSigning,
    _bundle_pair,
    _environ,
    _osslsigncode_verify,
    code_signing,
)
from tests.integration.test_bundle_windows import PePair, pe_pair  # noqa: F401
from tests.integration.windows_helpers import TARGET

PIN = "token-PIN-never-shown-4711"
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
KEY_URI = "pkcs11:token=packager-test;object=codesign"
_TOOLS = {"softhsm2-util": "softhsm2", "pkcs11-tool": "opensc"}


@dataclass(frozen=True)
class Token:
    conf: Path  # SOFTHSM2_CONF: where SoftHSM keeps this token
    cert: Path  # the code-signing certificate (PEM), also stored on the token


def _run(*argv: str, environ: dict[str, str], cwd: Path) -> None:
    completed = subprocess.run(argv, cwd=cwd, env=environ, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture(scope="session")
def token(code_signing: CodeSigning, tmp_path_factory: pytest.TempPathFactory) -> Token:  # noqa: F811
    """A SoftHSM2 token, PIN-protected, holding the code-signing key and certificate."""
    for tool, package in _TOOLS.items():
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing (Debian: apt-get install {package})")
    if not os.path.isfile(SOFTHSM_MODULE):
        pytest.fail(f"{SOFTHSM_MODULE} is missing (Debian: apt-get install softhsm2)")
    work = tmp_path_factory.mktemp("softhsm")
    (work / "tokens").mkdir()
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {work / 'tokens'}\nobjectstore.backend = file\n")
    environ = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    made = code_signing.pfx.parent  # code.key and code.pem, beside the .pfx
    _run("softhsm2-util", "--init-token", "--free", "--label", "packager-test", "--pin", PIN,
         "--so-pin", "so-pin-1234", environ=environ, cwd=work)  # fmt: skip
    _run("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", str(made / "code.key"), "-out",
         "code.p8", environ=environ, cwd=work)  # fmt: skip
    _run("softhsm2-util", "--import", "code.p8", "--token", "packager-test", "--label",
         "codesign", "--id", "01", "--pin", PIN, environ=environ, cwd=work)  # fmt: skip
    _run("openssl", "x509", "-in", str(made / "code.pem"), "-outform", "DER", "-out",
         "code.der", environ=environ, cwd=work)  # fmt: skip
    _run("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", "packager-test",
         "--login", "--pin", PIN, "--write-object", "code.der", "--type", "cert",
         "--label", "codesign", "--id", "01", environ=environ, cwd=work)  # fmt: skip
    return Token(conf, made / "code.pem")


@dataclass(frozen=True)
class TokenRun:
    out: Path
    written: tuple[Path, ...]  # every file under the run's out, cache and temp folders
    output: str  # stdout and stderr of the run


@pytest.fixture(scope="session")
def token_signed(
    pe_pair: PePair,  # noqa: F811
    token: Token,
    tmp_path_factory: pytest.TempPathFactory,
) -> TokenRun:
    """The pair bundled as a zip and an .msi, signed with the token's key and certificate."""
    work = tmp_path_factory.mktemp("token_signed")
    environ = _environ(work, SOFTHSM2_CONF=str(token.conf), **{PASSWORD_ENV: PIN})
    output = _bundle_pair(pe_pair, work / "out", "--format", "zip,msi", "--publisher",
                          "Example", "--sign-pkcs11-key", KEY_URI, "--sign-pkcs11-module",
                          SOFTHSM_MODULE, "--json", environ=environ)  # fmt: skip
    written = tuple(path for path in work.rglob("*") if path.is_file())
    return TokenRun(work / "out", written, output)


def test_the_zip_program_and_the_msi_verify_under_the_ca(
    token_signed: TokenRun,
    code_signing: CodeSigning,  # noqa: F811
    tmp_path: Path,
) -> None:
    with zipfile.ZipFile(token_signed.out / "app.zip") as archive:
        archive.extractall(tmp_path)
    subjects = [tmp_path / "app" / "app.exe", token_signed.out / "app-0.0.0-x64.msi"]
    verdicts = {path.name: _osslsigncode_verify(code_signing.ca, path) for path in subjects}
    assert verdicts == {path.name: 0 for path in subjects}


def test_packager_verify_accepts_the_token_signed_outputs(
    token_signed: TokenRun,
    code_signing: CodeSigning,  # noqa: F811
) -> None:
    completed = run_packager("verify", "--sign-ca", str(code_signing.ca), str(token_signed.out))
    assert completed.returncode == 0, completed.stderr


def test_the_pin_is_written_nowhere_and_never_shown(token_signed: TokenRun) -> None:
    secret = PIN.encode()
    holding = [str(path) for path in token_signed.written if secret in path.read_bytes()]
    assert (holding, PIN in token_signed.output, "+ " in token_signed.output) == ([], False, True)


def test_p11_kit_proxy_and_a_certificate_file_sign_the_program(
    pe_pair: PePair,  # noqa: F811
    token: Token,
    code_signing: CodeSigning,  # noqa: F811
    tmp_path: Path,
) -> None:
    environ = _environ(tmp_path, SOFTHSM2_CONF=str(token.conf), **{PASSWORD_ENV: PIN})
    _bundle_pair(pe_pair, tmp_path / "out", "--format", "zip", "--sign-pkcs11-key", KEY_URI,
                 "--sign-cert", str(token.cert), environ=environ)  # fmt: skip
    with zipfile.ZipFile(tmp_path / "out" / "app.zip") as archive:
        archive.extractall(tmp_path / "unzipped")
    assert _osslsigncode_verify(code_signing.ca, tmp_path / "unzipped" / "app" / "app.exe") == 0


def test_a_wrong_pin_fails_before_cargo_runs_or_anything_is_written(
    token: Token, tmp_path: Path
) -> None:
    crate = uncompilable_hello(tmp_path)
    environ = _environ(tmp_path, SOFTHSM2_CONF=str(token.conf), **{PASSWORD_ENV: "000000"})
    completed = run_packager("bundle", str(crate), "--target", TARGET, "--python", "3.11",
                             "--format", "zip", "--out", str(tmp_path / "out"),
                             "--sign-pkcs11-key", KEY_URI, "--sign-pkcs11-module",
                             SOFTHSM_MODULE, environ=environ)  # fmt: skip
    errors = [line for line in completed.stderr.splitlines() if line.startswith("packager: ")]
    found = (completed.returncode, errors[-1] if errors else completed.stderr[-2000:])
    assert (found, (tmp_path / "out").exists()) == (
        (2, "packager: error: the token refuses the PIN given: it is wrong"),
        False,
    )
