"""bundle --gpg-key: a signed SHA256SUMS (and .rpm), checked by gpg, rpm and `packager
verify --gpg-keyring`, with real keys in a temporary GnuPG home.

The signature is re-made under the lock of every merge, so it still holds after a second
app is bundled into the same folder; a run that does not sign leaves no stale signature.
A key that needs a passphrase takes it from PACKAGER_GPG_PASSPHRASE, and the passphrase
is found in no file written and in none of the output.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from packager.core.context import cache_root
from tests.helpers import SAMPLES, cargo_env, run_packager, uncompilable_hello
from tests.integration.gpg_helpers import PASSPHRASE, GnuPG

pytestmark = pytest.mark.integration


def _bundle(gnupg: GnuPG, binary: Path, out: Path, *args: str, **extra: str) -> str:
    """`packager bundle BINARY --out OUT ARGS` with the test GnuPG home; its stderr."""
    completed = run_packager("bundle", str(binary), "--out", str(out), *args,
                             environ=gnupg.environ(**extra))  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stderr


def _signed(gnupg: GnuPG, hello_binary: Path, out: Path, *formats: str) -> Path:
    _bundle(gnupg, hello_binary, out, "--format", ",".join(formats), "--gpg-key", gnupg.key)
    return out


def _verify(gnupg: GnuPG, subject: Path) -> subprocess.CompletedProcess[str]:
    return run_packager("verify", "--gpg-keyring", str(gnupg.public), str(subject),
                        environ=gnupg.environ())  # fmt: skip


def test_gpg_verifies_the_signed_sums(gnupg: GnuPG, hello_binary: Path, tmp_path: Path) -> None:
    out = _signed(gnupg, hello_binary, tmp_path / "out", "tar.gz")
    checked = gnupg.run("--verify", "SHA256SUMS.asc", "SHA256SUMS", cwd=out)
    assert checked.returncode == 0, checked.stderr


def test_signature_holds_after_a_second_app_is_bundled(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    out = _signed(gnupg, hello_binary, tmp_path / "out", "tar.gz")
    _bundle(gnupg, hello_binary, out, "--name", "second", "--format", "zip",
            "--gpg-key", gnupg.key)  # fmt: skip
    checked = gnupg.run("--verify", "SHA256SUMS.asc", "SHA256SUMS", cwd=out)
    assert (checked.returncode, "second.zip" in (out / "SHA256SUMS").read_text()) == (0, True)


def test_packager_verify_accepts_an_untouched_folder(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    out = _signed(gnupg, hello_binary, tmp_path / "out", "tar.gz", "zip")
    completed = _verify(gnupg, out)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_packager_verify_refuses_changed_sums(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    out = _signed(gnupg, hello_binary, tmp_path / "out", "tar.gz")
    with open(out / "SHA256SUMS", "a", encoding="utf-8") as handle:
        handle.write(f"{'0' * 64}  evil.tar.gz\n")
    completed = _verify(gnupg, out / f"{hello_binary.name}.tar.gz")
    assert (completed.returncode, "does not hold" in completed.stderr) == (1, True), (
        completed.stderr
    )


def test_packager_verify_refuses_a_changed_output(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    out = _signed(gnupg, hello_binary, tmp_path / "out", "tar.gz")
    archive = out / f"{hello_binary.name}.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    completed = _verify(gnupg, archive)
    assert (completed.returncode, "does not match" in completed.stderr) == (1, True), (
        completed.stderr
    )


def test_an_unsigned_run_removes_the_signature_it_would_leave_stale(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    out = _signed(gnupg, hello_binary, tmp_path / "out", "tar.gz")
    stderr = _bundle(gnupg, hello_binary, out, "--name", "unsigned", "--format", "zip")
    assert ((out / "SHA256SUMS.asc").exists(), "removed" in stderr) == (False, True), stderr


def _rpm_check(gnupg: GnuPG, package: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`rpm -K` of `package` against a temporary database holding the test keys."""
    database = tmp_path / "rpmdb"
    if not database.exists():
        database.mkdir()
        subprocess.run(["rpm", "--dbpath", str(database), "--import", str(gnupg.public)],
                       check=True, capture_output=True)  # fmt: skip
    return subprocess.run(["rpm", "--dbpath", str(database), "-K", str(package)],
                          capture_output=True, text=True, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def signed_rpm(gnupg: GnuPG, hello_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An .rpm of the hello binary bundled with --gpg-key."""
    out = _signed(gnupg, hello_binary, tmp_path_factory.mktemp("rpm-out"), "rpm")
    return next(out.glob("*.rpm"))


def test_rpm_accepts_the_signed_package(gnupg: GnuPG, signed_rpm: Path, tmp_path: Path) -> None:
    checked = _rpm_check(gnupg, signed_rpm, tmp_path)
    assert (checked.returncode, "signatures OK" in checked.stdout) == (0, True), checked.stdout


def test_rpm_refuses_the_package_with_a_byte_flipped(
    gnupg: GnuPG, signed_rpm: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / signed_rpm.name
    data = bytearray(signed_rpm.read_bytes())
    data[-100] ^= 0xFF  # in the payload, which the signature covers
    damaged.write_bytes(bytes(data))
    assert _rpm_check(gnupg, damaged, tmp_path).returncode != 0


def test_packager_verify_checks_the_rpm_signature(gnupg: GnuPG, signed_rpm: Path) -> None:
    completed = _verify(gnupg, signed_rpm)
    assert (completed.returncode, "rpm -K" in completed.stdout) == (0, True), (
        completed.stdout + completed.stderr
    )


def test_a_locked_key_signs_with_the_passphrase_from_the_environment(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    gnupg.forget_passphrases()
    out = tmp_path / "out"
    _bundle(gnupg, hello_binary, out, "--format", "tar.gz", "--gpg-key", gnupg.locked_key,
            PACKAGER_GPG_PASSPHRASE=PASSPHRASE)  # fmt: skip
    checked = gnupg.run("--verify", "SHA256SUMS.asc", "SHA256SUMS", cwd=out)
    assert checked.returncode == 0, checked.stderr


def test_a_locked_key_without_its_passphrase_fails_in_one_line(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    gnupg.forget_passphrases()
    completed = run_packager("bundle", str(hello_binary), "--out", str(tmp_path / "out"),
                             "--format", "tar.gz", "--gpg-key", gnupg.locked_key,
                             environ=gnupg.environ())  # fmt: skip
    error = _error(completed.stderr)
    assert (completed.returncode, "PACKAGER_GPG_PASSPHRASE is not set" in error) == (3, True)


def test_a_wrong_passphrase_fails_before_anything_is_written(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    gnupg.forget_passphrases()
    out = tmp_path / "out"
    completed = run_packager("bundle", str(hello_binary), "--out", str(out), "--format",
                             "tar.gz", "--gpg-key", gnupg.locked_key,
                             environ=gnupg.environ(PACKAGER_GPG_PASSPHRASE="wrong"))  # fmt: skip
    assert (completed.returncode, out.exists()) == (3, False), completed.stderr


def test_a_signature_failing_after_the_outputs_are_written_says_how_to_sign_them(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    # gpg as installed, except that signing SHA256SUMS itself fails (an agent gone, say):
    # the check before the build passes, the outputs are written, then signing fails.
    wrapper = tmp_path / "bin"
    wrapper.mkdir()
    gpg = shutil.which("gpg")
    (wrapper / "gpg").write_text(
        "#!/bin/sh\n"
        'for a; do case "$a" in */SHA256SUMS) echo "gpg: signing failed: No agent" >&2; '
        "exit 2;; esac; done\n"
        f'exec {gpg} "$@"\n'
    )
    (wrapper / "gpg").chmod(0o755)
    environ = gnupg.environ()
    environ["PATH"] = f"{wrapper}:{environ['PATH']}"
    out = tmp_path / "out"
    completed = run_packager("bundle", str(hello_binary), "--out", str(out), "--format",
                             "tar.gz", "--gpg-key", gnupg.key, environ=environ)  # fmt: skip
    said = f"the outputs are written and listed in {out / 'SHA256SUMS'}, unsigned"
    assert (completed.returncode, said in completed.stderr) == (3, True), completed.stderr


def _files_holding(root: Path, secret: bytes, since: float) -> list[Path]:
    """The files under `root` changed since `since` whose bytes hold `secret`."""
    found = []
    for path in root.rglob("*"):
        fresh = path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since
        if fresh and secret in path.read_bytes():
            found.append(path)
    return found


def test_the_passphrase_is_in_no_file_and_no_output(
    gnupg: GnuPG, hello_binary: Path, tmp_path: Path
) -> None:
    gnupg.forget_passphrases()
    start = time.time() - 1
    out = tmp_path / "out"
    environ = gnupg.environ(PACKAGER_GPG_PASSPHRASE=PASSPHRASE)
    completed = run_packager("--verbose", "bundle", str(hello_binary), "--out", str(out),
                             "--format", "dir,tar.gz,deb,rpm", "--json", "--gpg-key",
                             gnupg.locked_key, environ=environ)  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    cache = Path(cache_root(environ) or tmp_path)
    leaks = _files_holding(out, PASSPHRASE.encode(), start)
    leaks += _files_holding(cache, PASSPHRASE.encode(), start)
    printed = PASSPHRASE in completed.stdout + completed.stderr
    assert (leaks, printed) == ([], False)


def _error(stderr: str) -> str:
    """The one error line of a failed run (progress lines come before it)."""
    errors = [line for line in stderr.splitlines() if line.startswith("packager: error: ")]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


def _bundle_crate(gnupg: GnuPG, crate: Path, tmp_path: Path, *args: str) -> tuple[int, str]:
    environ = {**cargo_env(), "GNUPGHOME": str(gnupg.home)}
    completed = run_packager("bundle", str(crate), "--out", str(tmp_path / "out"),
                             "--format", "tar.gz", *args, environ=environ)  # fmt: skip
    return completed.returncode, completed.stderr


def test_an_unknown_key_is_refused_before_cargo_runs(gnupg: GnuPG, tmp_path: Path) -> None:
    code, stderr = _bundle_crate(gnupg, uncompilable_hello(tmp_path), tmp_path, "--gpg-key",
                                 "0xDEADBEEFDEADBEEF")  # fmt: skip
    assert (code, _error(stderr)) == (
        3,
        f"packager: error: gpg has no secret key 0xDEADBEEFDEADBEEF (GnuPG home: {gnupg.home})",
    ), stderr[-3000:]


def test_the_crate_names_the_key_and_the_flag_wins(gnupg: GnuPG, tmp_path: Path) -> None:
    signing = f'\n[package.metadata.packager.signing]\ngpg-key = "{gnupg.key}"\n'
    crate = uncompilable_hello(tmp_path, signing)
    code, stderr = _bundle_crate(gnupg, crate, tmp_path, "--gpg-key", "nobody@example.org")
    assert (code, "no secret key nobody@example.org" in _error(stderr)) == (3, True)


def test_the_crate_names_the_key(gnupg: GnuPG, tmp_path: Path) -> None:
    signing = '\n[package.metadata.packager.signing]\ngpg-key = "nobody@example.org"\n'
    code, stderr = _bundle_crate(gnupg, uncompilable_hello(tmp_path, signing), tmp_path)
    assert (code, "no secret key nobody@example.org" in _error(stderr)) == (3, True)


def test_the_crates_key_does_not_stop_a_onefile_bundle(gnupg: GnuPG, tmp_path: Path) -> None:
    # A onefile program writes nothing gpg signs; the crate's key is for its other bundles.
    # The crate does not compile: reaching cargo is the proof that nothing refused it.
    signing = '\n[package.metadata.packager.signing]\ngpg-key = "nobody@example.org"\n'
    environ = {**cargo_env(), "GNUPGHOME": str(gnupg.home)}
    completed = run_packager("bundle", str(uncompilable_hello(tmp_path, signing)), "--onefile",
                             "--out", str(tmp_path / "out"), environ=environ)  # fmt: skip
    reached_cargo = "this_does_not_compile" in completed.stderr
    assert (completed.returncode, reached_cargo) == (3, True), completed.stderr[-3000:]


def test_a_run_for_two_targets_signs_the_sums_over_both(gnupg: GnuPG, tmp_path: Path) -> None:
    triples = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu")
    out = tmp_path / "out"
    environ = gnupg.environ()
    # The portable runtimes the other tests build: one built with this variable set is
    # another runtime (its files carry that time), built again.
    environ.pop("SOURCE_DATE_EPOCH", None)
    completed = run_packager(
        "bundle", str(SAMPLES / "hello"), "--target", ",".join(triples), "--python", "3.11",
        "--format", "tar.gz", "--out", str(out), "--gpg-key", gnupg.key,
        environ=environ, timeout=2400,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    checked = _verify(gnupg, out)
    archives = [f"{triple}/hello.tar.gz" for triple in triples]
    assert (checked.returncode, [a in checked.stdout for a in archives]) == (0, [True, True]), (
        checked.stdout + checked.stderr
    )
