"""Throwaway OpenPGP keys in a temporary GnuPG home, for the signing tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.bundle_helpers import bundle_environ

PASSPHRASE = "correct-horse-7f3a9c-battery"  # a string found nowhere else


@dataclass(frozen=True)
class GnuPG:
    """A GnuPG home with a key without a passphrase (`key`) and one with (`locked_key`)."""

    home: Path
    key: str  # fingerprint
    locked_key: str  # fingerprint; its passphrase is PASSPHRASE
    public: Path  # both public keys, armoured

    def environ(self, **extra: str) -> dict[str, str]:
        """The bundle tests' environment with this GnuPG home, and no passphrase unless given."""
        environ = bundle_environ()
        environ.pop("PACKAGER_GPG_PASSPHRASE", None)
        environ.update(GNUPGHOME=str(self.home), **extra)
        return environ

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """gpg ARGS in this home, never prompting."""
        return subprocess.run(["gpg", "--batch", *args], env=self.environ(), cwd=cwd,
                              capture_output=True, text=True, check=False)  # fmt: skip

    def forget_passphrases(self) -> None:
        """End the agent, so no passphrase a test gave is cached for the next."""
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=self.environ(), check=True)


def _make_key(gnupg: GnuPG, uid: str, passphrase: str) -> str:
    made = gnupg.run("--passphrase", passphrase, "--pinentry-mode", "loopback",
                     "--quick-gen-key", uid, "ed25519", "sign", "never")  # fmt: skip
    assert made.returncode == 0, made.stderr
    listed = gnupg.run("--list-secret-keys", "--with-colons", uid).stdout
    return next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr"))


@pytest.fixture(scope="session")
def gnupg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GnuPG]:
    """A GnuPG home made for the session, its agent ended afterwards."""
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    blank = GnuPG(home, "", "", home / "public.asc")
    key = _make_key(blank, "Test <t@example.org>", "")
    locked = _make_key(blank, "Locked <locked@example.org>", PASSPHRASE)
    made = GnuPG(home, key, locked, home / "public.asc")
    exported = made.run("--armor", "--export", key, locked)
    made.public.write_text(exported.stdout)
    made.forget_passphrases()
    yield made
    made.forget_passphrases()
