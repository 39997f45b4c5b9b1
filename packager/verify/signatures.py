"""`verify --gpg-keyring FILE`: is an output what the holder of one key published?

SUBJECT is an output folder holding SHA256SUMS and SHA256SUMS.asc (every file it lists
is checked), or an output file beside them (that file). The signature is checked with
gpgv against the key of FILE alone (an exported public key, armoured or binary, imported
into a temporary GnuPG home; the user's keyrings play no part), then each file's SHA-256
against the signed SHA256SUMS; an .rpm's own signature with `rpm -K`, against a temporary
rpm database holding only that key. Anything missing, bad or unlisted is a
SignatureError (exit 1).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from packager.core import runner
from packager.core.errors import SignatureError, ToolError, UsageError
from packager.core.fsutil import sha256_file
from packager.outputs.signing import GPG_FIX
from packager.outputs.sums import SIGNATURE_NAME, SUMS_NAME

_RPM_FIX = "install rpm (Debian: apt-get install rpm)"


@dataclass(frozen=True)
class SignatureCheck:
    """A signature that held: the key that made it, and the files found as signed."""

    sums: str  # the SHA256SUMS checked
    fingerprint: str  # of the key that signed it
    files: tuple[str, ...]  # the files whose SHA-256 matched, relative to the folder
    rpms: tuple[str, ...] = ()  # the .rpm files whose own signature `rpm -K` accepted


def check_signed(
    subject: str, keyring: str, *, environ: Mapping[str, str], echo: runner.Echo | None = None
) -> SignatureCheck:
    """Check `subject` against the key in `keyring`; SignatureError when it does not hold."""
    folder, names = _subject(subject)
    sums = os.path.join(folder, SUMS_NAME)
    signature = os.path.join(folder, SIGNATURE_NAME)
    if not os.path.isfile(sums):
        raise SignatureError(
            f"no {SUMS_NAME} beside it",
            path=subject,
            fix="check the folder packager bundle wrote the output into",
        )
    if not os.path.isfile(signature):
        raise SignatureError(
            f"{SUMS_NAME} is not signed: there is no {SIGNATURE_NAME}",
            path=folder,
            fix="bundle it again with --gpg-key",
        )
    with tempfile.TemporaryDirectory(prefix="packager-verify-gpg-") as scratch:
        tools = _Tools(environ, scratch, echo)
        binary_key, armoured_key = tools.import_key(keyring)
        fingerprint = tools.gpgv(binary_key, signature, sums)
        with open(sums, encoding="utf-8", errors="replace") as handle:
            listed = _listed(handle.read())
        chosen = tuple(sorted(listed)) if names is None else names
        files = tuple(_check_digest(folder, name, listed) for name in chosen)
        rpms = tuple(name for name in files if name.endswith(".rpm"))
        for name in rpms:
            tools.rpm_check(armoured_key, os.path.join(folder, name))
    return SignatureCheck(sums, fingerprint, files, rpms)


def _subject(subject: str) -> tuple[str, tuple[str, ...] | None]:
    """The folder holding SHA256SUMS and the files to check (None: every listed one)."""
    path = os.path.abspath(subject)
    if os.path.isdir(path) and os.path.exists(os.path.join(path, SUMS_NAME)):
        return path, None
    if os.path.isdir(path):
        raise UsageError(
            f"{subject} is a bundle folder, which SHA256SUMS does not list",
            fix="check its archive or package, or the output folder that holds SHA256SUMS",
        )
    return os.path.dirname(path), (os.path.basename(path),)


def _listed(text: str) -> dict[str, str]:
    """SHA256SUMS lines as {name: SHA-256}."""
    listed: dict[str, str] = {}
    for line in text.splitlines():
        digest, _, name = line.partition(" ")
        if len(digest) == 64 and name[:1] in (" ", "*"):
            listed[name[1:]] = digest.lower()
    return listed


def _check_digest(folder: str, name: str, listed: Mapping[str, str]) -> str:
    """`name`, once its SHA-256 matches its line in the signed SHA256SUMS."""
    if name not in listed:
        raise SignatureError(
            f"{name} is not listed in the signed {SUMS_NAME}",
            path=folder,
            fix="check a file packager bundle wrote there",
        )
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise SignatureError(f"{name}, listed in the signed {SUMS_NAME}, is missing", path=folder)
    if sha256_file(path) != listed[name]:
        raise SignatureError(
            f"{name} does not match the signed {SUMS_NAME}: it was changed after signing",
            path=folder,
            fix="do not use it; fetch it again from its publisher",
        )
    return name


class _Tools:
    """gpg, gpgv and rpm, each confined to a temporary home that holds only the key."""

    def __init__(self, environ: Mapping[str, str], scratch: str, echo: runner.Echo | None):
        self.home = os.path.join(scratch, "gnupg")
        os.mkdir(self.home, 0o700)
        self.scratch = scratch
        self.echo = echo
        self.environ = {**environ, "GNUPGHOME": self.home, "HOME": scratch}
        self.environ.pop("XDG_CONFIG_HOME", None)

    def _run(self, argv: list[str]) -> runner.ToolResult:
        return runner.run(argv, environ=self.environ, check=False, echo=self.echo)

    def import_key(self, keyring: str) -> tuple[str, str]:
        """The key of `keyring` as a binary keyring (gpgv) and armoured (rpm)."""
        gpg = runner.require("gpg", self.environ, fix=GPG_FIX)
        imported = self._run([gpg, "--batch", "--no-tty", "--import", "--", keyring])
        binary, armoured = (os.path.join(self.scratch, name) for name in ("key.gpg", "key.asc"))
        exported = self._run([gpg, "--batch", "--yes", "--output", binary, "--export"])
        if imported.returncode != 0 or exported.returncode != 0 or not os.path.getsize(binary):
            raise UsageError(
                f"{keyring} holds no OpenPGP public key gpg can read",
                fix="export it with gpg --export --armor KEYID > key.asc",
            )
        self._run([gpg, "--batch", "--yes", "--armor", "--output", armoured, "--export"])
        return binary, armoured

    def gpgv(self, binary_key: str, signature: str, signed: str) -> str:
        """The signing key's fingerprint, once gpgv found the signature good."""
        gpgv = runner.require("gpgv", self.environ, fix=GPG_FIX)
        argv = [gpgv, "--homedir", self.home, "--status-fd", "1", "--keyring", binary_key]
        result = self._run([*argv, "--", signature, signed])
        valid = [
            line.split()[2]
            for line in result.stdout.splitlines()
            if line.startswith("[GNUPG:] VALIDSIG ")
        ]
        if result.returncode != 0 or not valid:
            why = (
                "it was made by another key"
                if "NO_PUBKEY" in result.stdout
                else ("the file was changed after signing, or the signature is damaged")
            )
            raise SignatureError(
                f"the signature {signature} does not hold: {why}",
                fix="do not use these files; fetch them again from their "
                "publisher, or check the key you were given",
            )
        return valid[0]

    def rpm_check(self, armoured_key: str, package: str) -> None:
        """`rpm -K` of `package` against a temporary rpm database holding only the key."""
        rpm = runner.require("rpm", self.environ, fix=_RPM_FIX)
        database = os.path.join(self.scratch, "rpmdb")
        if not os.path.isdir(database):
            os.mkdir(database)
            imported = self._run([rpm, "--dbpath", database, "--import", armoured_key])
            if imported.returncode != 0:
                raise ToolError("rpm could not import the key", output=imported.stderr)
        result = self._run([rpm, "--dbpath", database, "-K", "--", package])
        if result.returncode != 0 or "signatures OK" not in result.stdout:
            found = "bad" if "NOT OK" in result.stdout else "missing"
            raise SignatureError(
                f"rpm -K does not accept the package: its signature is {found}",
                path=package,
                fix="do not install it; fetch it again from its publisher",
            )
