"""OpenPGP signatures of what a bundle run publishes: SHA256SUMS.asc and signed .rpm files.

`bundle --gpg-key KEYID` (or `gpg-key` in `[package.metadata.packager.signing]`) signs
with the user's GnuPG (`GNUPGHOME`, else ~/.gnupg): OUT/SHA256SUMS gets a detached,
ASCII-armoured signature beside it, re-made under the lock of every merge (sums.py), and
an .rpm is signed with `rpmsign --addsign` in staging, before it is published. A .deb is
covered by the signed SHA256SUMS (dpkg checks no signature embedded in a .deb).

gpg never prompts: it runs with `--batch --pinentry-mode loopback`. A key that needs a
passphrase gets it from PACKAGER_GPG_PASSPHRASE through a pipe (`--passphrase-fd`), never
on a command line; the variable is taken out of the environment every tool sees.
`check_signer` proves the key signs (it exists, the passphrase is right) before the build.
rpmsign runs with a private HOME, so ~/.rpmmacros plays no part: its macros are `--define`s.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from packager.core import runner, secrets
from packager.core.errors import ToolError, UsageError

PASSPHRASE_ENV = "PACKAGER_GPG_PASSPHRASE"
SIGNATURE_SUFFIX = ".asc"
GPG_FIX = "install GnuPG (Debian: apt-get install gnupg)"
_RPMSIGN_FIX = "install rpmsign (Debian: apt-get install rpm; Fedora: dnf install rpm-sign)"
# A key as gpg names it: a key ID, fingerprint, e-mail address or user ID. Not an option,
# and no '%', which rpm would expand as a macro.
_KEY = re.compile(r"[^\s%-][^%\x00-\x1f\x7f]*")
_NO_PASSPHRASE = ("can't get input", "No passphrase given", "Inappropriate ioctl", "cancelled")


@dataclass(frozen=True)
class Signer:
    """The key that signs, and what gpg runs with; the passphrase is never shown."""

    key: str
    environ: Mapping[str, str] = field(repr=False)  # without PACKAGER_GPG_PASSPHRASE
    passphrase: str | None = field(default=None, repr=False)
    echo: runner.Echo | None = field(default=None, repr=False, compare=False)


def make_signer(
    key: str | None, environ: Mapping[str, str], echo: runner.Echo | None = None
) -> Signer | None:
    """The Signer for `key` (None: the run does not sign), its passphrase from the
    environment; a key gpg could take as an option or rpm as a macro is refused."""
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise UsageError(
            f"--gpg-key {key!r} is not a key ID, fingerprint or e-mail address",
            fix="list your keys with gpg --list-secret-keys",
        )
    passphrase = environ.get(PASSPHRASE_ENV) or None
    return Signer(key, secrets.child_environ(environ), passphrase, echo)


def check_signer(signer: Signer, *, rpm: bool) -> None:
    """Refuse, before anything is built, a key gpg does not have as a secret key, one it
    cannot sign with (a missing or wrong passphrase), and a missing rpmsign for `rpm`."""
    gpg = runner.require("gpg", signer.environ, fix=GPG_FIX)
    listed = runner.run(
        [gpg, "--batch", "--no-tty", "--list-secret-keys", "--with-colons", signer.key],
        environ=signer.environ,
        check=False,
        echo=signer.echo,
    )
    if listed.returncode != 0 or not listed.stdout.startswith("sec"):
        raise ToolError(
            f"gpg has no secret key {signer.key} (GnuPG home: {gnupg_home(signer.environ)})",
            fix="list your keys with gpg --list-secret-keys, or set GNUPGHOME to the home "
            "that holds this one",
        )
    if rpm:
        runner.require("rpmsign", signer.environ, fix=_RPMSIGN_FIX)
    with tempfile.TemporaryDirectory(prefix="packager-sign-") as scratch:
        probe = os.path.join(scratch, "probe")
        with open(probe, "w", encoding="utf-8") as handle:
            handle.write("packager: can this key sign?\n")
        sign_detached(signer, probe)


def sign_detached(signer: Signer, path: str) -> str:
    """Write PATH.asc, an ASCII-armoured detached signature of `path`, by rename (a reader
    sees the old signature or the new one); its path."""
    gpg = runner.require("gpg", signer.environ, fix=GPG_FIX)
    signature = path + SIGNATURE_SUFFIX
    folder, name = os.path.split(signature)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder or ".")
    os.close(descriptor)
    try:
        argv = [gpg, *_unattended(signer, passphrase_fd=0), "--local-user", signer.key]
        argv += ["--armor", "--detach-sign", "--yes", "--output", temporary, "--", path]
        stdin = None if signer.passphrase is None else signer.passphrase + "\n"
        result = runner.run(
            argv, environ=signer.environ, check=False, echo=signer.echo, stdin_text=stdin
        )
        if result.returncode != 0:
            raise signing_error(signer, "gpg", result.stderr)
        os.chmod(temporary, 0o644)
        os.replace(temporary, signature)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return signature


def sign_rpm(signer: Signer, path: str) -> None:
    """Sign the package `path` in place with `rpmsign --addsign`, with macros of its own."""
    rpmsign = runner.require("rpmsign", signer.environ, fix=_RPMSIGN_FIX)
    gpg = runner.require("gpg", signer.environ, fix=GPG_FIX)
    with (
        tempfile.TemporaryDirectory(prefix="packager-rpmsign-") as home,
        secret_pipe(signer.passphrase) as descriptor,
    ):
        environ = {
            **{k: v for k, v in signer.environ.items() if k != "XDG_CONFIG_HOME"},
            "HOME": home,  # no ~/.rpmmacros: every macro is a --define below
            "GNUPGHOME": gnupg_home(signer.environ),
        }
        extra = " ".join(_unattended(signer, passphrase_fd=descriptor))
        defines = {"_gpg_name": signer.key, "__gpg": gpg, "_gpg_sign_cmd_extra_args": extra}
        argv = [rpmsign, "--addsign"]
        argv += [arg for key, value in defines.items() for arg in ("--define", f"{key} {value}")]
        result = runner.run(
            [*argv, path],
            environ=environ,
            check=False,
            echo=signer.echo,
            pass_fds=() if descriptor is None else (descriptor,),
        )
    if result.returncode != 0:
        raise signing_error(signer, "rpmsign", result.stderr, path=path)


def _unattended(signer: Signer, *, passphrase_fd: int | None) -> list[str]:
    """gpg's options for a run that never prompts, reading a passphrase from a descriptor."""
    options = ["--batch", "--no-tty", "--pinentry-mode", "loopback"]
    if signer.passphrase is not None and passphrase_fd is not None:
        options += ["--passphrase-fd", str(passphrase_fd)]
    return options


@contextmanager
def secret_pipe(passphrase: str | None) -> Iterator[int | None]:
    """A pipe's read end holding `passphrase` (one line), for a tool to inherit (None:
    no passphrase, no pipe)."""
    if passphrase is None:
        yield None
        return
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(write_end, "wb") as writer:
            writer.write((passphrase + "\n").encode())  # far below a pipe's buffer
        yield read_end
    finally:
        os.close(read_end)


def signing_error(signer: Signer, tool: str, stderr: str, *, path: str | None = None) -> ToolError:
    """One line on why `tool` could not sign with the key, and the fix."""
    if "Bad passphrase" in stderr:
        return ToolError(
            f"{tool} could not sign with key {signer.key}: the passphrase in {PASSPHRASE_ENV} "
            "is wrong",
            path=path,
            fix=f"set {PASSPHRASE_ENV} to the key's passphrase",
        )
    if any(marker in stderr for marker in _NO_PASSPHRASE):
        return ToolError(
            f"{tool} could not sign with key {signer.key}: it needs a passphrase, and "
            f"{PASSPHRASE_ENV} is not set",
            path=path,
            fix=f"export {PASSPHRASE_ENV} with the key's passphrase (packager never prompts)",
        )
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = [line for line in lines if not line.startswith("warning:")][-1:] or ["no output"]
    return ToolError(
        f"{tool} could not sign with key {signer.key}: {last[0]}",
        path=path,
        fix="check the key with gpg --list-secret-keys, and that it may sign",
    )


def gnupg_home(environ: Mapping[str, str]) -> str:
    """The GnuPG home gpg uses: GNUPGHOME, else ~/.gnupg."""
    home = environ.get("GNUPGHOME")
    if home:
        return home
    return os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".gnupg")
