"""What a bundle run is asked to do, as typed values, one group per pipeline stage.

Every option's default means "not given", so the pipeline can tell which options a user
set and refuse those the chosen layout cannot honour instead of ignoring them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from packager.binary.elf_head import elf_machine
from packager.core.errors import UsageError
from packager.crate.appmeta import MetadataOptions
from packager.outputs.model import BundleFormat
from packager.targets import host_arch, linux_cross_triples

# Where the outputs go without --out: ./dist, relative to the working directory.
DEFAULT_OUT = "dist"
# Debian policy: [epoch:]upstream[-revision], upstream starting with a digit. The .deb
# writer and every other installer format take the version from here.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
# CON, NUL, COM1... name devices on Windows, not files.
_WINDOWS_DEVICE = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


@dataclass(frozen=True)
class ObtainOptions:
    """How to get the binary: a crate is built first, a binary is taken as it is."""

    mode: str | None = None  # link mode for a crate (auto, dynamic, static); None: not given
    python: str | None = None  # the interpreter to build against and take the runtime from
    target: str | None = None  # cargo's target triple for a cross build; None: this host
    package: str | None = None  # the workspace member to build (cargo's -p)
    binary: str | None = None  # the binary of a package with several (cargo's --bin)


@dataclass(frozen=True)
class ContentOptions:
    """What goes into the bundle besides the binary."""

    keep: tuple[str, ...] = ()  # trimmed stdlib modules to put back
    app_dir: str | None = None  # files shipped as NAME/app
    requirements: str | None = None  # a pip requirements file installed into site-packages
    stdlib_sources: bool = False  # ship .py sources and __pycache__ instead of .pyc only
    strip: bool = True  # strip ELF files
    unstripped: tuple[str, ...] = ()  # shell patterns of ELF files to leave unstripped
    python_home: str | None = None  # a Windows CPython home, or another Linux arch's root
    strict_licenses: bool = False  # refuse a shipped library whose licence text is not found


@dataclass(frozen=True)
class OnefileOptions:
    """The onefile layout's own choices."""

    only_needed: bool = False  # keep only the modules the scripts import
    scripts: tuple[str, ...] = ()  # scripts to follow with only_needed
    include: tuple[str, ...] = ()  # modules to keep as well with only_needed
    site_dirs: tuple[str, ...] = ()  # pip --target directories to carry
    compress: bool = True  # deflate the module archive
    library_cache: bool = True  # load compiled modules from copies in the user's cache


@dataclass(frozen=True)
class CodeSigning:
    """Authenticode signing of a Windows bundle: where the key is, never its password."""

    pfx: str | None = None  # a PKCS#12 file holding the code-signing certificate and key
    password_file: str | None = None  # its password's (the PIN's) file, else the variable
    timestamp: str | None = None  # an RFC 3161 time-stamping server's URL
    declared: bool = False  # the key comes from Cargo.toml, not a flag: only PE trees use it
    pkcs11_key: str | None = None  # instead of pfx: a pkcs11: URI of a key on a token
    pkcs11_module: str | None = None  # the token's PKCS#11 module (else p11-kit's proxy)
    pkcs11_cert: str | None = None  # the certificate's pkcs11: URI (else the key's object)
    cert: str | None = None  # or the certificate as a PEM/DER file


@dataclass(frozen=True)
class BundleRequest:
    """One `packager bundle` run: the source, where the outputs go, and each stage's options."""

    source: str  # a crate directory (or its Cargo.toml) or a built binary
    out_dir: str = DEFAULT_OUT
    name: str | None = None
    formats: tuple[BundleFormat, ...] | None = None  # None: the layout's default
    obtain: ObtainOptions = field(default_factory=ObtainOptions)
    content: ContentOptions = field(default_factory=ContentOptions)
    onefile: bool = False  # write one executable instead of a tree
    onefile_options: OnefileOptions = field(default_factory=OnefileOptions)
    export_env: bool = False  # launchers let child processes inherit their environment
    workdir: str | None = None  # a folder of the bundle the launcher starts the program in
    version: str | None = None  # the package version installers carry
    metadata: MetadataOptions = field(default_factory=MetadataOptions)  # what installers say
    force: bool = False
    verify: bool = False  # run every output in a sandbox afterwards
    glibc: str | None = None  # the floor every ELF file must meet; None: measure, not enforce
    verify_on: tuple[str, ...] = ()  # Debian releases whose minbase roots run every output
    gpg_key: str | None = None  # the OpenPGP key that signs SHA256SUMS and .rpm files
    code_signing: CodeSigning = field(default_factory=CodeSigning)  # Authenticode


# Each option a user can give, as the CLI spells it, and how to tell it was given.
OPTION_GIVEN: dict[str, Callable[[BundleRequest], bool]] = {
    "--format": lambda r: r.formats is not None,
    "--mode": lambda r: r.obtain.mode is not None,
    "--python": lambda r: r.obtain.python is not None,
    "--package": lambda r: r.obtain.package is not None,
    "--bin": lambda r: r.obtain.binary is not None,
    "--keep": lambda r: bool(r.content.keep),
    "--app-dir": lambda r: r.content.app_dir is not None,
    "--requirements": lambda r: r.content.requirements is not None,
    "--stdlib-sources": lambda r: r.content.stdlib_sources,
    "--no-strip": lambda r: not r.content.strip,
    "--target": lambda r: r.obtain.target is not None,  # before --python-home, which it uses
    "--no-strip-file": lambda r: bool(r.content.unstripped),
    "--strict-licenses": lambda r: r.content.strict_licenses,
    "--python-home": lambda r: r.content.python_home is not None,
    "--export-env": lambda r: r.export_env,
    "--workdir": lambda r: r.workdir is not None,
    "--version": lambda r: r.version is not None,
    "--display-name": lambda r: r.metadata.display_name is not None,
    "--publisher": lambda r: r.metadata.publisher is not None,
    "--description": lambda r: r.metadata.description is not None,
    "--icon": lambda r: r.metadata.icon is not None,
    "--license": lambda r: r.metadata.license is not None,
    "--homepage": lambda r: r.metadata.homepage is not None,
    "--upgrade-code": lambda r: r.metadata.upgrade_code is not None,
    "--gui/--console": lambda r: r.metadata.gui is not None,
    "--category": lambda r: bool(r.metadata.categories),
    "--only-needed": lambda r: r.onefile_options.only_needed,
    "--script": lambda r: bool(r.onefile_options.scripts),
    "--include": lambda r: bool(r.onefile_options.include),
    "--site": lambda r: bool(r.onefile_options.site_dirs),
    "--no-compress": lambda r: not r.onefile_options.compress,
    "--no-library-cache": lambda r: not r.onefile_options.library_cache,
    "--glibc": lambda r: r.glibc is not None,
    "--verify-on": lambda r: bool(r.verify_on),
    "--sign-pfx": lambda r: r.code_signing.pfx is not None and not r.code_signing.declared,
    "--sign-pkcs11-key": lambda r: (
        r.code_signing.pkcs11_key is not None and not r.code_signing.declared
    ),
}


# The options that describe the app to installers; each needs an installer format.
METADATA_OPTIONS = (
    "--version",
    "--display-name",
    "--publisher",
    "--description",
    "--icon",
    "--license",
    "--homepage",
    "--upgrade-code",
    "--gui/--console",
    "--category",
)


def given_options(request: BundleRequest) -> list[str]:
    """The options the request sets, by their command-line names."""
    return [option for option, given in OPTION_GIVEN.items() if given(request)]


def check_workdir(workdir: str, app_dir: str | None) -> None:
    """Refuse a --workdir that cannot name a folder inside the bundle (e.g. app)."""
    parts = workdir.split("/")
    if workdir.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise UsageError(
            f"--workdir {workdir!r} must be a folder inside the bundle, as a relative path",
            fix="e.g. --workdir app (the --app-dir files)",
        )
    if parts[0] == "app" and app_dir is None:
        raise UsageError(
            f"--workdir {workdir} is a folder of the app, but no --app-dir is shipped",
            fix="add --app-dir DIR (its files become the bundle's app/ folder)",
        )


def check_bundle_name(name: str, path: str, *, windows: bool = False) -> None:
    """Refuse a name that cannot name a bundle's folder, archives, launcher or program."""
    if _NAME.fullmatch(name) and not (windows and _WINDOWS_DEVICE.fullmatch(name)):
        return
    device = ", and no device name such as CON or NUL" if windows else ""
    raise UsageError(
        f"'{name}' cannot name a bundle",
        path=path,
        fix=f"use letters, digits, '.', '_', '+' and '-'{device} (pass --name)",
    )


def parse_formats(text: str) -> tuple[BundleFormat, ...]:
    """Formats from a comma-separated list ("dir,tar.gz"), in a fixed order, deduplicated."""
    wanted: set[BundleFormat] = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            wanted.add(BundleFormat(item))
        except ValueError:
            choices = ", ".join(fmt.value for fmt in BundleFormat)
            raise UsageError(f"unknown bundle format '{item}'", fix=f"use {choices}") from None
    if not wanted:
        raise UsageError("no bundle format given", fix="e.g. --format dir,tar.gz")
    return tuple(fmt for fmt in BundleFormat if fmt in wanted)


def check_foreign(request: BundleRequest, *, crate: bool) -> None:
    """Refuse what a Linux bundle for another architecture cannot honour, and a target's
    root (--python-home) for a program of this machine."""
    target = request.obtain.target
    machine = None if crate else _machine_of(request.source)
    foreign = target is not None or (machine is not None and machine != host_arch())
    if request.content.python_home is not None and not foreign:
        what = f"add --target (e.g. {linux_cross_triples()[0]})" if crate else "drop it"
        raise UsageError(
            "--python-home names the target's root of a program built for another "
            f"architecture; this one is for this machine's: {what} (--python chooses this "
            "machine's interpreter)"
        )
    reasons = {
        "--requirements": "pip would install wheels for this machine, not the target's",
        "--verify-on": "its Debian roots are this machine's architecture (use --verify: it "
        "runs the bundle under qemu-user with the target's C library)",
    }
    for option in given_options(request) if foreign else ():
        if option in reasons:
            built_for = f"--target {target}" if target else f"a {machine} program"
            raise UsageError(f"{option} cannot be used with {built_for}: {reasons[option]}")


def _machine_of(binary: str) -> str | None:
    """The machine of a built ELF program; None when unreadable (reading it later says why)."""
    try:
        return elf_machine(binary)
    except OSError:
        return None
