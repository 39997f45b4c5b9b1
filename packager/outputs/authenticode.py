"""Authenticode signatures of a Windows bundle's programs and installers, with osslsigncode.

`bundle --sign-pfx FILE` (or `pfx` in `[package.metadata.packager.signing]`) signs, in
staging before anything is published, NAME.exe and every .exe, .dll and .pyd of the tree
that carries no signature yet (python3XY.dll and the embeddable package's modules are
signed by the PSF: they are left as they are), then the .msi and setup.exe once they are
made, so the files inside the installers are the signed ones.

`--sign-pkcs11-key URI` signs with a key on a PKCS#11 token instead (pkcs11.py).

The PKCS#12 file's password, or the token's PIN, comes from PACKAGER_SIGN_PASSWORD or
--sign-password-file; it reaches openssl on its standard input (`-passin stdin`) and
osslsigncode on a pipe (`-readpass /dev/fd/N`; for a token osslsigncode hands it to the
engine as the PIN), never on a command line; no program packager starts inherits the
variable (core/secrets.py). `check_code_signer` proves before the build that the file
opens with it, or that the token signs with it (a throwaway script is signed).
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from packager.core import runner, secrets
from packager.core.errors import ToolError, UsageError
from packager.outputs.pkcs11 import PIN_FIX, TokenKey, token_problem
from packager.outputs.signing import secret_pipe

PASSWORD_ENV = "PACKAGER_SIGN_PASSWORD"
OSSLSIGNCODE_FIX = "install osslsigncode (Debian: apt-get install osslsigncode)"
_OPENSSL_FIX = "install OpenSSL (Debian: apt-get install openssl)"
# The files of a tree that carry an Authenticode signature of their own.
SIGNED_SUFFIXES = (".exe", ".dll", ".pyd")
_TIMESTAMP_URL = re.compile(r"https?://[^\s\"'<>\\]+")
_SECURITY_DIRECTORY = 4  # IMAGE_DIRECTORY_ENTRY_SECURITY: the certificate table


@dataclass(frozen=True)
class CodeSigner:
    """The PKCS#12 file or token key that signs, and what the tools run with; the password
    (or PIN) is never shown."""

    pfx: str | None  # None: `token` signs
    password: str = field(repr=False)
    timestamp: str | None = None  # an RFC 3161 time-stamping server's URL
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)  # without the password
    echo: runner.Echo | None = field(default=None, repr=False, compare=False)
    token: TokenKey | None = None  # a key on a PKCS#11 token, instead of `pfx`

    @property
    def key_name(self) -> str:
        """The key as a note names it: the PKCS#12 file's name, or the token key's URI."""
        return self.token.key if self.token is not None else os.path.basename(self.pfx or "")

    def key_arguments(self) -> list[str]:
        """osslsigncode's options that name the certificate and the key."""
        return self.token.arguments() if self.token is not None else ["-pkcs12", str(self.pfx)]


def make_code_signer(
    pfx: str | None,
    password_file: str | None,
    timestamp: str | None,
    environ: Mapping[str, str],
    echo: runner.Echo | None = None,
    *,
    token: TokenKey | None = None,
) -> CodeSigner | None:
    """The CodeSigner of `pfx` or `token` (None for neither: the run does not sign); its
    password (the token's PIN) from `password_file` (its first line), else
    PACKAGER_SIGN_PASSWORD, else none."""
    if pfx is None and token is None:
        if password_file is not None or timestamp is not None:
            given = "--sign-password-file" if password_file is not None else "--sign-timestamp"
            raise UsageError(
                f"{given} applies to Authenticode signing: add --sign-pfx FILE or "
                "--sign-pkcs11-key URI"
            )
        return None
    if pfx is not None and token is not None:
        raise UsageError(
            "--sign-pfx and --sign-pkcs11-key both name the signing key: give one",
            fix="keep one of them (in Cargo.toml: pfx or pkcs11-key of "
            "[package.metadata.packager.signing])",
        )
    if pfx is not None and not os.path.isfile(pfx):
        raise UsageError("the PKCS#12 file to sign with does not exist", path=pfx)
    if timestamp is not None and not _TIMESTAMP_URL.fullmatch(timestamp):
        raise UsageError(
            f"--sign-timestamp {timestamp!r} is not an http(s) URL",
            fix="name an RFC 3161 server, e.g. http://timestamp.digicert.com",
        )
    password = environ.get(PASSWORD_ENV, "")
    if password_file is not None:
        try:
            with open(password_file, encoding="utf-8") as handle:
                password = handle.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read the password file ({getattr(exc, 'strerror', None) or exc})",
                path=password_file,
            ) from None
    if token is not None and not password:
        raise UsageError(f"--sign-pkcs11-key {token.key}: the token's PIN is missing", fix=PIN_FIX)
    pfx = os.path.abspath(pfx) if pfx is not None else None
    return CodeSigner(pfx, password, timestamp, secrets.child_environ(environ), echo, token)


def check_code_signer(signer: CodeSigner) -> None:
    """Refuse, before anything is built, a missing osslsigncode and a PKCS#12 file that
    does not open with the password (openssl checks its integrity MAC), or a token key
    that does not sign."""
    runner.require("osslsigncode", signer.environ, fix=OSSLSIGNCODE_FIX)
    if signer.token is not None:
        _check_token(signer, signer.token)
        return
    assert signer.pfx is not None
    openssl = runner.require("openssl", signer.environ, fix=_OPENSSL_FIX)
    argv = [openssl, "pkcs12", "-in", signer.pfx, "-noout", "-passin", "stdin"]
    result = _run(signer, argv)
    if result.returncode != 0 and "unsupported" in result.stderr:
        result = _run(signer, [*argv, "-legacy"])  # RC2/3DES files of older tools
    if result.returncode == 0:
        return
    if "mac verify failure" in result.stderr or "invalid password" in result.stderr:
        raise UsageError(
            "the PKCS#12 file does not open with the password given: it is wrong or missing",
            path=signer.pfx,
            fix=f"set {PASSWORD_ENV} to its password, or pass --sign-password-file FILE",
        )
    raise UsageError(
        f"openssl cannot read the PKCS#12 file: {_last_line(result.stderr)}",
        path=signer.pfx,
        fix="export the code-signing certificate and its key as a .pfx/.p12 file",
    )


def _check_token(signer: CodeSigner, token: TokenKey) -> None:
    """Sign a throwaway PowerShell script with the token: the engine and the module load,
    the PIN opens the token, the key and certificate are found and belong together."""
    with tempfile.TemporaryDirectory(prefix="packager-token-") as folder:
        probe = os.path.join(folder, "probe.ps1")
        with open(probe, "w", encoding="utf-8", newline="\r\n") as handle:
            handle.write("Write-Output 'packager'\n")
        result = _osslsigncode_sign(signer, probe, os.path.join(folder, "signed.ps1"))
    if result.returncode == 0:
        return
    problem = token_problem(result.stderr, token)
    if problem is None:
        problem = (
            f"osslsigncode cannot sign with {token.key}: {_last_line(result.stderr)}",
            "check the token is present, and its key and certificate with pkcs11-tool",
        )
    raise UsageError(problem[0], fix=problem[1])


def _osslsigncode_sign(
    signer: CodeSigner, path: str, signed: str, *, timestamp: bool = False
) -> runner.ToolResult:
    """Run `osslsigncode sign` on `path` into `signed` (SHA-256), the password on a pipe."""
    osslsigncode = runner.require("osslsigncode", signer.environ, fix=OSSLSIGNCODE_FIX)
    # The password on a pipe named as a file: osslsigncode before 2.9 (Debian 12's 2.5)
    # takes `-readpass -` for a file called "-".
    with secret_pipe(signer.password) as password_fd:
        assert password_fd is not None
        argv = [osslsigncode, "sign", *signer.key_arguments(), "-h", "sha256"]
        argv += ["-readpass", f"/dev/fd/{password_fd}"]
        if timestamp and signer.timestamp is not None:
            argv += ["-ts", signer.timestamp]
        return runner.run(
            [*argv, "-in", path, "-out", signed], environ=signer.environ, check=False,
            echo=signer.echo, pass_fds=(password_fd,),
        )  # fmt: skip


def sign_file(signer: CodeSigner, path: str) -> None:
    """Sign the PE or MSI file `path` in place (SHA-256), time-stamped when asked."""
    folder, name = os.path.split(path)
    descriptor, signed = tempfile.mkstemp(prefix=f".{name}.", dir=folder or ".")
    os.close(descriptor)
    os.unlink(signed)  # osslsigncode writes a new file
    try:
        result = _osslsigncode_sign(signer, path, signed, timestamp=True)
        if result.returncode != 0 or not os.path.isfile(signed):
            raise ToolError(
                f"osslsigncode could not sign {name}: {_last_line(result.stderr)}",
                path=path,
                fix="check the file is a Windows program, DLL or .msi, and the --sign-timestamp "
                "server (if any) answers",
            )
        os.chmod(signed, os.stat(path).st_mode & 0o777)
        os.replace(signed, path)
    finally:
        if os.path.lexists(signed):
            os.unlink(signed)


def sign_tree(signer: CodeSigner, root: str) -> tuple[str, ...]:
    """Sign every .exe, .dll and .pyd under `root` that has no signature yet; their paths
    relative to `root`, in order."""
    signed: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if not name.lower().endswith(SIGNED_SUFFIXES) or os.path.islink(path):
                continue
            if is_pe(path) and not has_signature(path):
                sign_file(signer, path)
                signed.append(os.path.relpath(path, root))
    return tuple(signed)


def _pe_security_directory(path: str) -> tuple[int, int] | None:
    """The certificate table's (offset, size) of a PE file; None for another file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    if len(head) < 0x40 or head[:2] != b"MZ":
        return None
    (pe_offset,) = struct.unpack_from("<I", head, 0x3C)
    if pe_offset + 24 + 2 > len(head) or head[pe_offset : pe_offset + 4] != b"PE\0\0":
        return None
    optional = pe_offset + 24
    (magic,) = struct.unpack_from("<H", head, optional)
    directories = optional + {0x10B: 96, 0x20B: 112}.get(magic, -optional - 1)
    entry = directories + 8 * _SECURITY_DIRECTORY
    if directories < 0 or entry + 8 > len(head):
        return None
    offset, size = struct.unpack_from("<II", head, entry)
    return offset, size


def is_pe(path: str) -> bool:
    """Whether `path` is a PE file packager can read the data directories of."""
    return _pe_security_directory(path) is not None


def has_signature(path: str) -> bool:
    """Whether the PE file `path` carries a certificate table (an Authenticode signature)."""
    found = _pe_security_directory(path)
    return found is not None and found[0] != 0 and found[1] != 0


def _run(signer: CodeSigner, argv: list[str]) -> runner.ToolResult:
    """Run a tool that reads the password as the first line of its standard input."""
    return runner.run(
        argv,
        environ=signer.environ,
        check=False,
        echo=signer.echo,
        stdin_text=signer.password + "\n",
    )


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
