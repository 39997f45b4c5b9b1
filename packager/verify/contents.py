"""Before `verify` runs a bundle, its files are checked against the SBOM it carries.

A bundle packager writes carries `sbom.cdx.json` at its top, listing every ELF and PE
file (and the files its components name on their own) with its SHA-256. Once the bundle
is copied, extracted or unpacked for the run, each listed file must be there with that
hash, and no ELF or PE file may be there that the SBOM does not list (a library added
after the bundle was made). Anything else is a ContentsError (exit 1) naming each file,
and the program is not run. A bundle without an SBOM (made by hand, or by an older
packager) is run unchecked, and the result says so.

This finds a bundle changed after it was made, by accident or on the way; it is no
defence against someone who can change the SBOM too: a signature (`--gpg-key`,
`--sign-pfx`) is.
"""

from __future__ import annotations

import os

from packager.binary.elf_head import is_elf
from packager.binary.pe_head import is_pe
from packager.binary.sbom import SBOM_NAME, file_hashes, hash_mismatches, read_sbom_file
from packager.core.errors import ContentsError
from packager.core.fsutil import files_under

_SHOWN = 20  # problems named in the message; the rest are counted


def check_contents(tree: str, subject: str) -> str | None:
    """Check the bundle folder `tree` (unpacked from `subject`) against its SBOM; a note
    when it carries none, None when every file matched. ContentsError otherwise."""
    path = os.path.join(tree, SBOM_NAME)
    if not os.path.isfile(path):
        return f"{SBOM_NAME} absent: the bundle's files were not checked against an SBOM"
    document = read_sbom_file(path)
    problems = hash_mismatches(tree, document) + unlisted_binaries(tree, file_hashes(document))
    if problems:
        shown = problems[:_SHOWN]
        more = len(problems) - len(shown)
        lines = "\n  ".join([*shown, *([f"... and {more} more"] if more else [])])
        raise ContentsError(
            f"its files are not the ones its {SBOM_NAME} lists:\n  {lines}",
            path=subject,
            fix="bundle it again, or find out what changed it after it was made",
        )
    return None


def unlisted_binaries(tree: str, listed: dict[str, str]) -> list[str]:
    """One message per ELF or PE file under `tree` (links aside, as the SBOM lists them)
    that `listed` (bundle paths) lacks."""
    return [
        f"{relative}: a program or library {SBOM_NAME} does not list"
        for relative in (
            os.path.relpath(path, tree).replace(os.sep, "/")
            for path in files_under(tree, lambda path: is_elf(path) or is_pe(path))
        )
        if relative not in listed
    ]
