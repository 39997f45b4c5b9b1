"""`bundle --gpg-key`: the key checked before the build, and the run's Signer.

The key must be one gpg has as a secret key and can sign with (the passphrase, if it
needs one, in PACKAGER_GPG_PASSPHRASE) before cargo runs or anything is fetched. The
passphrase then leaves the run's environment: only the Signer holds it, and it reaches
gpg through a pipe (outputs/signing.py).
"""

from __future__ import annotations

from dataclasses import replace

from packager.bundle.options import BundleRequest
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.outputs.model import BundleFormat
from packager.outputs.signing import Signer, check_signer, make_signer, public_environ


def check_signing(request: BundleRequest, ctx: Context) -> None:
    """Refuse --gpg-key where nothing it signs is written, and a key that cannot sign."""
    if request.gpg_key is None:
        return
    if request.onefile:
        raise UsageError(
            "--gpg-key signs OUT/SHA256SUMS and .rpm packages; --onefile writes neither "
            "(drop --gpg-key, or sign the program with gpg --detach-sign)"
        )
    signer = make_signer(request.gpg_key, ctx.environ, ctx.echo)
    assert signer is not None
    ctx.progress(f"checking that gpg can sign with key {signer.key}")
    check_signer(signer, rpm=BundleFormat.RPM in (request.formats or ()))


def signer_and_context(request: BundleRequest, ctx: Context) -> tuple[Signer | None, Context]:
    """The Signer of --gpg-key (None without it), and `ctx` without the passphrase."""
    signer = make_signer(request.gpg_key, ctx.environ, ctx.echo)
    return signer, replace(ctx, environ=public_environ(ctx.environ))
