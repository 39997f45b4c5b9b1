"""Authenticode signing of Windows outputs with osslsigncode (`bundle --sign-pfx`) and
its check (`verify --sign-ca`), with a CA and a code-signing certificate made here.

The program is the mingw-w64 pair of test_bundle_windows.py: its fake python311.dll has
no signature, so packager signs it as well as app.exe; the .msi and setup.exe are signed
after they are made. The password must never show: not in any file the run writes, nor
in its output, --json or --verbose command lines.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import cargo_env, run_packager, uncompilable_hello
from tests.integration.test_bundle_windows import PePair, pe_pair  # noqa: F401
from tests.integration.windows_helpers import TARGET

PASSWORD = "pfx-Pa55word-never-shown"
PASSWORD_ENV = "PACKAGER_SIGN_PASSWORD"
_LEAF_EXTENSIONS = (
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n"
)


@dataclass(frozen=True)
class CodeSigning:
    ca: Path  # the CA certificate, PEM
    pfx: Path  # the code-signing certificate and key, under PASSWORD


def _openssl(*args: str, cwd: Path) -> None:
    completed = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


@pytest.fixture(scope="session")
def code_signing(tmp_path_factory: pytest.TempPathFactory) -> CodeSigning:
    """A test CA, and a code-signing certificate it issued, exported with a password."""
    work = tmp_path_factory.mktemp("authenticode")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "test-ca.pem", "-days", "30", "-subj", "/CN=Packager Test CA", "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign", cwd=work)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "code.key", "-out", "code.csr",
             "-subj", "/CN=Packager Test Signer", cwd=work)  # fmt: skip
    (work / "code.ext").write_text(_LEAF_EXTENSIONS)
    _openssl("x509", "-req", "-in", "code.csr", "-CA", "test-ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "30", "-extfile", "code.ext", "-out", "code.pem",
             cwd=work)  # fmt: skip
    _openssl("pkcs12", "-export", "-inkey", "code.key", "-in", "code.pem", "-certfile",
             "test-ca.pem", "-out", "code.pfx", "-passout", f"pass:{PASSWORD}",
             cwd=work)  # fmt: skip
    return CodeSigning(work / "test-ca.pem", work / "code.pfx")


@dataclass(frozen=True)
class SignedRun:
    out: Path
    written: tuple[Path, ...]  # every file under the run's out, cache and temp folders
    output: str  # stdout and stderr of the run


def _environ(tmp: Path, **extra: str) -> dict[str, str]:
    """A run's environment with its own cache and temporary folders."""
    for name in ("cache", "tmp"):
        (tmp / name).mkdir(exist_ok=True)
    return cargo_env(XDG_CACHE_HOME=str(tmp / "cache"), TMPDIR=str(tmp / "tmp"), **extra)


def _bundle_pair(pair: PePair, out: Path, *args: str, environ: dict[str, str]) -> str:
    completed = run_packager(
        "--verbose", "bundle", str(pair.app), "--python-home", str(pair.home), "--out",
        str(out), *args, environ=environ,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout + completed.stderr


@pytest.fixture(scope="session")
def signed(
    pe_pair: PePair,  # noqa: F811
    code_signing: CodeSigning,
    tmp_path_factory: pytest.TempPathFactory,
) -> SignedRun:
    """The pair bundled as a zip, an .msi and a setup.exe, signed (with --json)."""
    work = tmp_path_factory.mktemp("signed")
    environ = _environ(work, **{PASSWORD_ENV: PASSWORD})
    output = _bundle_pair(pe_pair, work / "out", "--format", "dir,zip,msi,setup", "--publisher",
                          "Example", "--sign-pfx",
                          str(code_signing.pfx), "--json", environ=environ)  # fmt: skip
    written = tuple(path for path in work.rglob("*") if path.is_file())
    return SignedRun(work / "out", written, output)


def _osslsigncode_verify(ca: Path, path: Path) -> int:
    argv = ["osslsigncode", "verify", "-CAfile", str(ca), "-in", str(path)]
    return subprocess.run(argv, capture_output=True, text=True, check=False).returncode


def test_the_zip_programs_and_installers_verify_under_the_ca(
    signed: SignedRun, code_signing: CodeSigning, tmp_path: Path
) -> None:
    with zipfile.ZipFile(signed.out / "app.zip") as archive:
        archive.extractall(tmp_path)
    subjects = [
        tmp_path / "app" / "app.exe",
        tmp_path / "app" / "python311.dll",
        signed.out / "app-0.0.0-x64.msi",
        signed.out / "app-0.0.0-setup.exe",
    ]
    verdicts = {path.name: _osslsigncode_verify(code_signing.ca, path) for path in subjects}
    assert verdicts == {path.name: 0 for path in subjects}


def test_the_sbom_lists_the_signed_programs_hashes(signed: SignedRun) -> None:
    folder = signed.out / "app"
    document = json.loads((folder / "sbom.cdx.json").read_text(encoding="utf-8"))
    listed = {
        item["name"]: item["hashes"][0]["content"]
        for item in document["components"]
        if item["type"] == "file"
    }
    names = ("app.exe", "python311.dll")
    actual = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names}
    assert {name: listed[name] for name in names} == actual


def test_packager_verify_finds_a_byte_changed_after_signing(
    signed: SignedRun, code_signing: CodeSigning, tmp_path: Path
) -> None:
    folder = tmp_path / "app"
    shutil.copytree(signed.out / "app", folder)
    program = bytearray((folder / "app.exe").read_bytes())
    program[0x400] ^= 0xFF  # in the code, which the signature's digest covers
    (folder / "app.exe").write_bytes(program)
    completed = run_packager("verify", "--sign-ca", str(code_signing.ca), str(folder))
    assert (completed.returncode, "app.exe was changed after signing" in completed.stderr) == (
        1,
        True,
    ), completed.stderr


def test_packager_verify_accepts_the_signed_outputs(
    signed: SignedRun, code_signing: CodeSigning
) -> None:
    completed = run_packager("verify", "--sign-ca", str(code_signing.ca), str(signed.out))
    assert completed.returncode == 0, completed.stderr


def test_an_unsigned_windows_output_fails_verify(
    pe_pair: PePair,  # noqa: F811
    code_signing: CodeSigning,
    tmp_path: Path,
) -> None:
    _bundle_pair(pe_pair, tmp_path / "out", "--format", "zip", environ=_environ(tmp_path))
    completed = run_packager(
        "verify", "--sign-ca", str(code_signing.ca), str(tmp_path / "out" / "app.zip")
    )
    assert (completed.returncode, "app.zip:app/app.exe has no signature" in completed.stderr) == (
        1,
        True,
    ), completed.stderr


def test_the_password_is_written_nowhere_and_never_shown(signed: SignedRun) -> None:
    secret = PASSWORD.encode()
    holding = [str(path) for path in signed.written if secret in path.read_bytes()]
    assert (holding, PASSWORD in signed.output, "+ " in signed.output) == ([], False, True)


def _bundle_windows_crate(crate: Path, tmp_path: Path, *args: str, password: str) -> str:
    environ = _environ(tmp_path, **{PASSWORD_ENV: password})
    completed = run_packager("bundle", str(crate), "--target", TARGET, "--python", "3.11",
                             "--format", "zip", "--out", str(tmp_path / "out"), *args,
                             environ=environ)  # fmt: skip
    errors = [line for line in completed.stderr.splitlines() if line.startswith("packager: ")]
    return f"{completed.returncode} {errors[-1] if errors else completed.stderr[-2000:]}"


def test_a_wrong_password_fails_before_cargo_runs(
    code_signing: CodeSigning, tmp_path: Path
) -> None:
    crate = uncompilable_hello(tmp_path)
    found = _bundle_windows_crate(crate, tmp_path, "--sign-pfx", str(code_signing.pfx),
                                  password="not the password")  # fmt: skip
    assert found == (
        f"2 packager: error: {code_signing.pfx}: the PKCS#12 file does not open with the "
        "password given: it is wrong or missing"
    )


def test_the_crate_names_the_pfx(code_signing: CodeSigning, tmp_path: Path) -> None:
    shutil.copy(code_signing.pfx, tmp_path / "code.pfx")
    signing = '\n[package.metadata.packager.signing]\npfx = "../code.pfx"\n'
    crate = uncompilable_hello(tmp_path, signing)
    found = _bundle_windows_crate(crate, tmp_path, password="wrong")
    assert "does not open with the password given" in found


def test_sign_pfx_is_refused_for_a_linux_program(code_signing: CodeSigning, tmp_path: Path) -> None:
    program = shutil.which("true")
    assert program is not None
    completed = run_packager("bundle", program, "--out", str(tmp_path / "out"), "--sign-pfx",
                             str(code_signing.pfx))  # fmt: skip
    assert (completed.returncode, completed.stderr.strip().splitlines()[-1]) == (
        2,
        "packager: error: --sign-pfx cannot be used with a Linux (ELF) program: Authenticode "
        "signs Windows programs (--gpg-key signs SHA256SUMS and .rpm)",
    )


def test_a_module_signed_by_another_self_made_certificate_fails_verify(
    signed: SignedRun, code_signing: CodeSigning, tmp_path: Path
) -> None:
    # An intact signature is not enough for a DLL or .pyd: its chain must reach the CA
    # given, or a root the system trusts (as the PSF's does); a self-made one reaches none.
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
             "other.pem", "-days", "30", "-subj", "/CN=Someone Else", "-addext",
             "extendedKeyUsage=codeSigning", cwd=tmp_path)  # fmt: skip
    folder = tmp_path / "app"
    shutil.copytree(signed.out / "app", folder)
    for argv in (
        ["remove-signature", "-in", str(folder / "python311.dll"), "-out", "plain.dll"],
        ["sign", "-certs", "other.pem", "-key", "other.key", "-in", "plain.dll", "-out",
         str(folder / "_app_ext.pyd")],
    ):  # fmt: skip
        done = subprocess.run(["osslsigncode", *argv], cwd=tmp_path, capture_output=True)
        assert done.returncode == 0, done.stderr
    completed = run_packager("verify", "--sign-ca", str(code_signing.ca), str(folder))
    refused = "_app_ext.pyd is signed by someone else" in completed.stderr
    assert (completed.returncode, refused) == (1, True), completed.stderr
