"""`verify --sign-ca FILE`: are a Windows output's programs signed by the holder of a CA?

SUBJECT is a Windows bundle folder, its .zip, an .msi, a setup.exe (or any .exe, .dll or
.pyd), or an output folder holding several of them. Each .exe, .dll, .pyd and .msi is
checked with `osslsigncode verify -CAfile FILE` (the CA of the certificate that signed
it, as PEM). A program (.exe) or .msi must be signed under that CA; a DLL or .pyd may
instead carry its own publisher's signature if that chains to a root of the system's
trust store (python3XY.dll and the embeddable package's modules are the PSF's, which
packager leaves as they are), checked against its time-stamp, without fetching revocation
lists. A file without a signature, one changed after signing, and one signed by anyone
else are reported, and the check fails (SignatureError, exit 1).
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from packager.core import runner
from packager.core.errors import SignatureError, UsageError
from packager.core.safe_extract import extract_zip
from packager.outputs.authenticode import OSSLSIGNCODE_FIX

# The files a Windows output signs; an .msi is signed as a whole.
CHECKED_SUFFIXES = (".exe", ".dll", ".pyd", ".msi")
_THIRD_PARTY_ALLOWED = (".dll", ".pyd")
# The system's trust store (Debian's ca-certificates), which a publisher's chain must reach.
_SYSTEM_ROOTS = "/etc/ssl/certs/ca-certificates.crt"
_SUBJECT = re.compile(r"^\s*Subject:\s*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class FileVerdict:
    """One file's Authenticode signature, as osslsigncode verify found it."""

    path: str  # relative to the subject (inside a zip: the member's name)
    state: str  # "ours", "publisher", "third-party", "unsigned", "changed", "unreadable"
    signer: str | None = None  # the signing certificate's subject

    @property
    def ok(self) -> bool:
        return self.state in ("ours", "publisher")


@dataclass(frozen=True)
class AuthenticodeCheck:
    """Every file checked, good or not."""

    subject: str
    files: tuple[FileVerdict, ...]

    @property
    def bad(self) -> tuple[FileVerdict, ...]:
        return tuple(verdict for verdict in self.files if not verdict.ok)


_WHY = {
    "unsigned": "has no signature",
    "changed": "was changed after signing",
    "third-party": "is signed by someone else: its chain reaches neither this CA nor a "
    "root the system trusts",
    "unreadable": "is no PE or MSI file osslsigncode can read",
}


def check_authenticode(
    subject: str, ca_file: str, *, environ: Mapping[str, str], echo: runner.Echo | None = None
) -> AuthenticodeCheck:
    """Check every signable file of `subject` against `ca_file`; SignatureError naming the
    files that are unsigned or bad, else what was found."""
    osslsigncode = runner.require("osslsigncode", environ, fix=OSSLSIGNCODE_FIX)
    if not os.path.exists(subject):
        raise UsageError("no such file or folder", path=subject)
    with tempfile.TemporaryDirectory(prefix="packager-verify-authenticode-") as scratch:
        verdicts = [
            _verdict(osslsigncode, ca_file, path, shown, environ, echo)
            for shown, path in _files(subject, scratch)
        ]
    if not verdicts:
        raise UsageError(
            "holds no Windows program, DLL or .msi to check",
            path=subject,
            fix="check a Windows bundle folder, its .zip, an .msi or a setup.exe",
        )
    checked = AuthenticodeCheck(subject, tuple(verdicts))
    if checked.bad:
        listed = "; ".join(f"{v.path} {_WHY.get(v.state, 'is not signed')}" for v in checked.bad)
        raise SignatureError(
            f"{len(checked.bad)} of {len(verdicts)} Windows files are not signed under "
            f"{os.path.basename(ca_file)}: {listed}",
            path=subject,
            fix="do not use these files; fetch them again from their publisher, or bundle "
            "them again with --sign-pfx",
        )
    return checked


def _files(subject: str, scratch: str) -> Iterator[tuple[str, str]]:
    """(the name shown, the path) of each file to check, a .zip's members unpacked."""
    if os.path.isfile(subject):
        if subject.lower().endswith(".zip"):
            yield from _zip_members(subject, scratch, os.path.basename(subject))
        elif subject.lower().endswith(CHECKED_SUFFIXES):
            yield os.path.basename(subject), subject
        return
    for folder, dirs, names in os.walk(subject):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            shown = os.path.relpath(path, subject)
            if os.path.islink(path):
                continue
            if name.lower().endswith(".zip"):
                yield from _zip_members(path, os.path.join(scratch, shown), shown)
            elif name.lower().endswith(CHECKED_SUFFIXES):
                yield shown, path


def _zip_members(archive: str, into: str, shown: str) -> Iterator[tuple[str, str]]:
    try:
        with zipfile.ZipFile(archive) as handle:
            wanted = [n for n in handle.namelist() if n.lower().endswith(CHECKED_SUFFIXES)]
    except (OSError, zipfile.BadZipFile) as exc:
        raise UsageError(f"cannot read the zip archive ({exc})", path=archive) from None
    if not wanted:
        return
    os.makedirs(into, exist_ok=True)
    extract_zip(archive, into)
    for name in sorted(wanted):
        yield f"{shown}:{name}", os.path.join(into, name)


def _verdict(
    osslsigncode: str,
    ca_file: str,
    path: str,
    shown: str,
    environ: Mapping[str, str],
    echo: runner.Echo | None,
) -> FileVerdict:
    """What `osslsigncode verify -CAfile` says of one file."""
    argv = [osslsigncode, "verify", "-CAfile", ca_file, "-in", path]
    result = runner.run(argv, environ=environ, check=False, echo=echo)
    text = result.stdout + result.stderr
    subjects = _SUBJECT.findall(text)
    signer = subjects[0].strip() if subjects else None
    if result.returncode == 0:
        return FileVerdict(shown, "ours", signer)
    if "Unrecognized file type" in text or "unsupported input file type" in text:
        return FileVerdict(shown, "unreadable")
    if "No signature found" in text or "Unable to extract existing signature" in text:
        return FileVerdict(shown, "unsigned")
    if "MISMATCH" in text or "Calculated message digest" not in text:
        return FileVerdict(shown, "changed", signer)
    if path.lower().endswith(_THIRD_PARTY_ALLOWED) and _publishers(osslsigncode, path, environ):
        return FileVerdict(shown, "publisher", signer)
    return FileVerdict(shown, "third-party", signer)


def _publishers(osslsigncode: str, path: str, environ: Mapping[str, str]) -> bool:
    """Whether `path`'s signature chains to a root of the system's trust store, valid at
    its time-stamp (revocation lists are not fetched: the check stays offline)."""
    roots = environ.get("SSL_CERT_FILE") or _SYSTEM_ROOTS
    if not os.path.isfile(roots):
        return False
    argv = [osslsigncode, "verify", "-CAfile", roots, "-TSA-CAfile", roots, "-ignore-crl"]
    return runner.run([*argv, "-in", path], environ=environ, check=False).returncode == 0
