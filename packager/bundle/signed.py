"""`bundle --gpg-key` and `--sign-pfx`/`--sign-pkcs11-key`: the keys checked before the
build, and the signers.

The gpg key must be one gpg has as a secret key and can sign with (the passphrase, if it
needs one, in PACKAGER_GPG_PASSPHRASE), the PKCS#12 file of --sign-pfx must open with
its password (PACKAGER_SIGN_PASSWORD or --sign-password-file), and the token key of
--sign-pkcs11-key must sign with its PIN (from the same places), before cargo runs or
anything is fetched. The secrets then leave the run's environment: only the signers hold
them, and they reach gpg, openssl and osslsigncode through pipes (outputs/signing.py,
outputs/authenticode.py). A Windows tree is signed in staging, its installers as they
are made (`sign_laid_out`).
"""

from __future__ import annotations

import os
from dataclasses import replace

from packager.bundle.layouts import LaidOut
from packager.bundle.options import BundleRequest, CodeSigning
from packager.bundle.sbom import refresh_file_hashes
from packager.core.context import Context
from packager.core.errors import UsageError
from packager.core.secrets import child_environ
from packager.outputs import authenticode
from packager.outputs.authenticode import CodeSigner, check_code_signer, make_code_signer
from packager.outputs.model import BundleFormat
from packager.outputs.pkcs11 import make_token_key
from packager.outputs.signing import Signer, check_signer, make_signer


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


def check_code_signing(request: BundleRequest, ctx: Context, *, windows: bool) -> BundleRequest:
    """Refuse a PKCS#12 file that does not open with its password, a token key that does
    not sign, and a missing osslsigncode; `request` without the key Cargo.toml declares
    when the tree is not a Windows one (the flags are refused there by the layout's
    options)."""
    if not windows:
        return replace(request, code_signing=CodeSigning())
    signer = code_signer(request, ctx)
    if signer is not None:
        if signer.token is not None:
            ctx.progress(f"checking that the token signs with {signer.token.key}")
        else:
            ctx.progress(f"checking that {signer.key_name} opens with its password")
        check_code_signer(signer)
    return request


def code_signer(request: BundleRequest, ctx: Context) -> CodeSigner | None:
    """The Authenticode signer of --sign-pfx or --sign-pkcs11-key (None without either),
    its password or PIN read now."""
    options = request.code_signing
    token = make_token_key(
        options.pkcs11_key, options.pkcs11_module, options.pkcs11_cert, options.cert
    )
    return make_code_signer(
        options.pfx, options.password_file, options.timestamp, ctx.environ, ctx.echo, token=token
    )


def signer_and_context(request: BundleRequest, ctx: Context) -> tuple[Signer | None, Context]:
    """The Signer of --gpg-key (None without it), and `ctx` without either secret."""
    signer = make_signer(request.gpg_key, ctx.environ, ctx.echo)
    return signer, replace(ctx, environ=child_environ(ctx.environ))


def sign_laid_out(laid_out: LaidOut, signer: CodeSigner, ctx: Context) -> LaidOut:
    """Sign the staged Windows tree's unsigned programs and DLLs (its installers are
    signed as they are written); the laid-out tree with its new sizes and a note."""
    tree, manifest = laid_out.tree, laid_out.manifest
    ctx.progress(f"signing the Windows programs of {tree.name}/ (Authenticode)")
    signed = authenticode.sign_tree(signer, tree.root)
    refresh_file_hashes(tree.root)  # the SBOM lists the files as signed
    program = os.path.join(tree.root, manifest.binary)
    sizes = replace(manifest.sizes, binary=os.path.getsize(program))
    note = f"Authenticode-signed with {signer.key_name}: {', '.join(signed)}"
    manifest = replace(manifest, sizes=sizes, notes=(*manifest.notes, note))
    return replace(laid_out, tree=tree, manifest=manifest)
