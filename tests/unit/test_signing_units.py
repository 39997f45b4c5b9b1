"""Signing without gpg: the signature's place in the SHA256SUMS merge, the crate's key,
the signer's refusals and the one-line errors made from gpg's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.core.errors import ToolError, UsageError
from packager.crate.appmeta import declared_gpg_key
from packager.outputs.signing import PASSPHRASE_ENV, make_signer, signing_error
from packager.outputs.sums import merge_sums

DIGEST = "a" * 64


def _write_signature(path: str) -> None:
    Path(path + ".asc").write_text(f"signed {Path(path).read_text()}")


def test_the_signature_is_made_of_the_merged_file(tmp_path: Path) -> None:
    merge_sums(str(tmp_path), {"one.zip": DIGEST}, sign=_write_signature)
    merge_sums(str(tmp_path), {"two.zip": DIGEST}, sign=_write_signature)
    sums = (tmp_path / "SHA256SUMS").read_text()
    assert (tmp_path / "SHA256SUMS.asc").read_text() == f"signed {sums}"


def test_an_unsigned_merge_removes_the_old_signature_and_says_so(tmp_path: Path) -> None:
    merge_sums(str(tmp_path), {"one.zip": DIGEST}, sign=_write_signature)
    notes: list[str] = []
    merge_sums(str(tmp_path), {"two.zip": DIGEST}, note=notes.append)
    assert ((tmp_path / "SHA256SUMS.asc").exists(), len(notes)) == (False, 1)


def test_a_failed_signature_leaves_no_stale_one(tmp_path: Path) -> None:
    merge_sums(str(tmp_path), {"one.zip": DIGEST}, sign=_write_signature)

    def fail(path: str) -> None:
        raise ToolError("gpg failed")

    with pytest.raises(ToolError):
        merge_sums(str(tmp_path), {"two.zip": DIGEST}, sign=fail)
    assert not (tmp_path / "SHA256SUMS.asc").exists()


def _crate(tmp_path: Path, table: str) -> str:
    (tmp_path / "Cargo.toml").write_text(f'[package]\nname = "app"\nversion = "0.1.0"\n\n{table}')
    return str(tmp_path)


def test_the_crate_names_its_key(tmp_path: Path) -> None:
    crate = _crate(tmp_path, '[package.metadata.packager.signing]\ngpg-key = "0xABCD"\n')
    assert declared_gpg_key(crate) == "0xABCD"


def test_an_unknown_signing_key_is_refused(tmp_path: Path) -> None:
    crate = _crate(tmp_path, '[package.metadata.packager.signing]\nkey = "0xABCD"\n')
    with pytest.raises(UsageError, match="unknown key key"):
        declared_gpg_key(crate)


def test_a_key_that_reads_as_an_option_is_refused() -> None:
    with pytest.raises(UsageError, match="is not a key ID"):
        make_signer("--homedir=/tmp", {})


def test_the_passphrase_leaves_the_environment_and_the_repr() -> None:
    signer = make_signer("0xABCD", {PASSPHRASE_ENV: "s3cret", "PATH": "/bin"})
    assert signer is not None
    assert (PASSPHRASE_ENV in signer.environ, "s3cret" in repr(signer)) == (False, False)


@pytest.mark.parametrize(
    ("stderr", "words"),
    [
        ("gpg: signing failed: Bad passphrase\n", "is wrong"),
        ("gpg: Sorry, we are in batchmode - can't get input\n", "needs a passphrase"),
        ("gpg: signing failed: unusable secret key\n", "unusable secret key"),
    ],
)
def test_gpg_failures_become_one_line(stderr: str, words: str) -> None:
    signer = make_signer("0xABCD", {})
    assert signer is not None
    error = signing_error(signer, "gpg", stderr)
    assert (words in error.message, error.details(), error.exit_code) == (True, [], 3)
