"""`packager bundle`: parse the options into a BundleRequest, run the pipeline, render it."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TypedDict, Unpack

import click

from packager.cli.bundle_options import code_signing, signing_options
from packager.cli.main import is_verbose
from packager.cli.options import (
    DEFAULT_OUT,
    LINK_MODES,
    bin_option,
    interrupt_on_sigterm,
    json_option,
    package_option,
    progress_printer,
)

if TYPE_CHECKING:
    from packager.bundle.options import BundleRequest
    from packager.crate.appmeta import MetadataOptions

HELP = """Bundle a binary with its libpython, a trimmed stdlib and launchers.

A CRATE (a directory with Cargo.toml) is first built in release mode, as
`packager build --release` does; a BINARY is bundled as it is.

Writes NAME/ (bin/NAME with RUNPATH $ORIGIN/../lib, lib/libpython, the stdlib as
.pyc files plus lib-dynload in lib/python3.X, and the launcher NAME) and each
requested archive or installer, plus SHA256SUMS. ELF files are stripped (--no-strip
keeps symbols). Outputs go to --out (./dist unless given) and appear whole or not at
all; one that already exists is refused before anything is built, and replaced only
with --force. Several apps and formats can share one --out: each run adds its files'
lines to OUT/SHA256SUMS and keeps the others. The prepared stdlib is cached in
$XDG_CACHE_HOME/packager.

A Windows (PE) BINARY is bundled with the Windows CPython of --python-home (or, with
--python 3.X, the official embeddable CPython, fetched and SHA-256 checked) as a folder
with a .cmd launcher, an archive of it, or an .msi (built with msitools' wixl) that
installs it for the current user, with no administrator rights, under
%LOCALAPPDATA%\\Programs, with a Start-menu shortcut; a newer version replaces an older;
or as NAME-VERSION-setup.exe (NSIS's makensis) that does the same (/S: silently).

With --onefile, writes OUT/NAME: one static executable that carries the stdlib
and packages in a module archive inside the file. Compiled modules load from copies
it makes of its checked members in ~/.cache/packager/onefile-lib on first use, or
from memory where that cache cannot be written (--no-library-cache: always).

Installers (installer, deb, rpm, msi, setup) describe the app with the metadata of the crate's
Cargo.toml: [package] (version, description, authors, license, homepage) and the
[package.metadata.packager] table (display-name, publisher, description, icon, license,
homepage, upgrade-code, gui, categories); the flags below override it. A GUI app or one
with an icon gets a menu entry (its icon: 16, 22, 24, 32, 36, 48, 64, 72, 96, 128, 192,
256 or 512 pixels square).

The launcher sets PACKAGER_APP_DIR to the bundle's app/ folder (the --app-dir files);
--workdir app starts the program in it.
Every ELF file written is read for its glibc floor; the summary states the floor of the
whole output. With --glibc X.Y, a file that needs a newer glibc, or a library outside
the manylinux allowlist that the bundle does not ship, fails the bundle before anything
is written; installers refuse systems below the floor.

An option the chosen layout cannot honour (say --format with --onefile) is refused.

\b
Exit codes: 0 done (and verified), 1 --verify ran and an output failed, or --glibc
was not met, 2 usage error or unreadable input, 3 an external tool failed.

\b
Examples:
  packager bundle samples/hello --format dir,tar.zst --verify
  packager bundle samples/hello --format dir,installer --verify-on bookworm,trixie
  packager bundle samples/hello --onefile --python /usr/bin/python3.11
  packager bundle target/release/myapp --format dir,tar.zst --out release
  packager bundle myapp --requirements requirements.txt --format installer,deb --verify
  packager bundle app.exe --python-home python-3.11-embed-amd64 --format zip
  packager bundle myapp --target x86_64-pc-windows-gnu --python 3.11 --format zip --verify
  packager bundle myapp --target x86_64-pc-windows-gnu --python-home EMBED --format msi
  packager bundle myapp --target x86_64-pc-windows-gnu --python-home EMBED --format setup
"""


class BundleParams(TypedDict):
    """The command's options, as click passes them."""

    target: str
    formats: tuple[str, ...]
    out_dir: str
    name: str | None
    python: str | None
    mode: str | None
    package: str | None
    binary: str | None
    requirements: str | None
    keep: tuple[str, ...]
    app_dir: str | None
    stdlib_sources: bool
    no_strip: bool
    no_strip_files: tuple[str, ...]
    strict_licenses: bool
    export_env: bool
    workdir: str | None
    app_version: str | None
    display_name: str | None
    publisher: str | None
    description: str | None
    icon: str | None
    license: str | None
    homepage: str | None
    upgrade_code: str | None
    gui: bool | None
    categories: tuple[str, ...]
    force: bool
    run_verify: bool
    python_home: str | None
    cross_target: tuple[str, ...]
    onefile: bool
    only_needed: bool
    scripts: tuple[str, ...]
    include: tuple[str, ...]
    site_dirs: tuple[str, ...]
    no_compress: bool
    no_library_cache: bool
    glibc: str | None
    verify_on: str | None
    gpg_key: str | None
    sign_pfx: str | None
    sign_password_file: str | None
    sign_timestamp: str | None
    sign_pkcs11_key: str | None
    sign_pkcs11_module: str | None
    sign_pkcs11_cert: str | None
    sign_cert: str | None
    as_json: bool


@click.command("bundle", help=HELP)
@click.argument("target", metavar="CRATE|BINARY", type=click.Path())
@click.option(
    "--format",
    "formats",
    multiple=True,
    help="Comma-separated or repeated: dir, tar.gz, tar.zst, zip, installer, deb, rpm, msi "
    "and setup (Windows).  [default: dir]",
)
@click.option(
    "--out",
    "out_dir",
    default=DEFAULT_OUT,
    show_default=True,
    metavar="DIR",
    help="Output directory, created when missing; several apps can share one.",
)
@click.option("--name", default=None, help="Bundle name (default: the binary's file name).")
@click.option(
    "--python",
    default=None,
    help="Interpreter to take libpython and stdlib from; for Windows, 3.X fetches the "
    "embeddable CPython.",
)
@click.option(
    "--mode",
    type=click.Choice(LINK_MODES),
    default=None,
    help="How to link a CRATE that is built first.  [default: auto]",
)
@package_option
@bin_option
@click.option(
    "--requirements",
    type=click.Path(exists=True, dir_okay=False),
    help="pip requirements file.",
)
@click.option("--keep", multiple=True, help="Put back a trimmed stdlib module (repeatable).")
@click.option(
    "--app-dir",
    type=click.Path(exists=True, file_okay=False),
    help="Files to ship in NAME/app.",
)
@click.option(
    "--stdlib-sources",
    is_flag=True,
    help="Ship the stdlib as .py sources with __pycache__ instead of .pyc files only "
    "(tracebacks then show stdlib source lines).",
)
@click.option("--no-strip", is_flag=True, help="Keep symbols and debug info in ELF files.")
@click.option(
    "--no-strip-file",
    "no_strip_files",
    multiple=True,
    metavar="PATTERN",
    help="Leave ELF files matching this shell pattern (path in the bundle, or name) "
    "unstripped; libraries auditwheel repaired (*.libs/, hashed names) always are. Repeatable.",
)
@click.option(
    "--strict-licenses",
    is_flag=True,
    help="Fail (exit 2, writing nothing) when a shipped library or extension module has no "
    "licence text in the bundle's licenses/, or a crate compiled into the program has neither "
    "a text nor a stated licence; without it, the summary notes them.",
)
@click.option("--export-env", is_flag=True, help="Let child processes inherit the launcher env.")
@click.option(
    "--workdir",
    default=None,
    help="A folder of the bundle (e.g. app) the launcher starts the program in, for apps "
    "that open their files relative to the working directory.",
)
@click.option(
    "--version",
    "app_version",
    default=None,
    help="Package version for installers.  [default: the crate's version, else 0.0.0]",
)
@click.option("--display-name", default=None, help="The app's name in menus and installers.")
@click.option("--publisher", default=None, help="Who publishes it.  [default: first author]")
@click.option("--description", default=None, help="One line on what it does.")
@click.option("--icon", type=click.Path(dir_okay=False), default=None, help="A square PNG icon.")
@click.option("--license", default=None, help="Its licence (SPDX).")
@click.option("--homepage", default=None, help="Its web page (http/https).")
@click.option(
    "--upgrade-code",
    default=None,
    metavar="GUID",
    help="A GUID that stays the same across versions, so Windows installers upgrade in "
    "place.  [default: derived from the name and publisher]",
)
@click.option(
    "--gui/--console",
    default=None,
    help="A windowed app (menu entries open no terminal) or a console one.",
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="A freedesktop menu category (repeatable).  [default: Utility for --gui]",
)
@click.option("--force", is_flag=True, help="Replace outputs that already exist.")
@click.option("--verify", "run_verify", is_flag=True, help="Run each output in a sandbox.")
@click.option(
    "--python-home",
    type=click.Path(file_okay=False),
    help="For a Windows BINARY or target: the Windows CPython (e.g. the embeddable "
    "package, unpacked) to take python3XY.dll and the stdlib from (default: the one "
    "--python 3.X names, fetched); for an aarch64 target: its root file system (default: "
    "the aarch64 portable runtime for glibc 2.17, built into the cache on first use).",
)
@click.option(
    "--target",
    "cross_target",
    metavar="TRIPLE[,TRIPLE...]",
    multiple=True,
    help="Build the CRATE for another system, named as cargo names it "
    "(x86_64-pc-windows-gnu, aarch64-unknown-linux-gnu, x86_64-unknown-linux-gnu). "
    "Several (comma-separated or repeated): each target's outputs go to OUT/TRIPLE/, with "
    "one OUT/SHA256SUMS and OUT/artifacts.json over all.",
)
@click.option(
    "--onefile",
    is_flag=True,
    help="Write one static executable carrying the stdlib and the app's packages, "
    "imported from inside the file (nothing is extracted at run time).",
)
@click.option(
    "--only-needed",
    is_flag=True,
    help="Keep only the stdlib modules the app imports (Linux folders, --onefile; see "
    "--script/--include).",
)
@click.option("--script", "scripts", multiple=True, help="--only-needed: a script to follow.")
@click.option("--include", multiple=True, help="--only-needed: a module to keep as well.")
@click.option(
    "--site", "site_dirs", multiple=True, help="--onefile: a pip --target directory to carry."
)
@click.option("--no-compress", is_flag=True, help="--onefile: store modules uncompressed.")
@click.option(
    "--no-library-cache",
    is_flag=True,
    help="--onefile: load compiled modules from memory on every start, never from the copies "
    "kept in the user's cache (~/.cache/packager/onefile-lib).",
)
@click.option(
    "--glibc",
    default=None,
    metavar="X.Y",
    help="The oldest glibc the output must run on; refuse to write it otherwise.  "
    "[default: measured, the highest floor of the files shipped]",
)
@click.option(
    "--verify-on",
    default=None,
    metavar="NAMES",
    help="Run each output over minimal Debian roots too (bullseye,bookworm,trixie; made "
    "once with debootstrap and cached); a root whose glibc is below the floor is refused "
    "before anything is written.",
)
@signing_options
@json_option
@click.pass_context
def command(ctx: click.Context, **params: Unpack[BundleParams]) -> None:
    from packager.bundle import bundle
    from packager.bundle.every_target import bundle_every_target, parse_targets
    from packager.core.context import Context, silent
    from packager.reporting.bundle import to_json, to_text

    as_json = params["as_json"]

    progress = silent if as_json else progress_printer()

    def echo(line: str) -> None:
        click.echo(line, err=True)

    context = Context(
        environ=dict(os.environ),
        progress=progress,
        echo=echo if is_verbose(ctx) else None,
        on_line=None if as_json else echo,
        note=lambda text: click.echo(f"packager: note: {text}", err=True),
    )
    interrupt_on_sigterm()
    package_dir = _package_dir(params)
    triples = parse_targets(params["cross_target"]) or _declared_targets(params, package_dir)
    request = _request(params, triples[0] if len(triples) == 1 else None, package_dir)
    if len(triples) > 1:
        from packager.reporting import every_target

        every = bundle_every_target(request, triples, context)
        click.echo(every_target.to_json(every) if as_json else every_target.to_text(every))
        sys.exit(every.exit_code)
    run = bundle(request, context)
    click.echo(to_json(run) if as_json else to_text(run))
    sys.exit(0 if run.ok else 1)


def _declared_targets(params: BundleParams, package_dir: str | None) -> tuple[str, ...]:
    """A crate's `targets` in [package.metadata.packager], when --target is not given."""
    from packager.crate.appmeta import declared_targets

    if params["onefile"] or package_dir is None:
        return ()
    return declared_targets(package_dir)


def _glibc(params: BundleParams, package_dir: str | None) -> str | None:
    """--glibc, else a crate's `glibc` in [package.metadata.packager], as "2.N"."""
    from packager.binary.floor import parse_floor
    from packager.crate.appmeta import declared_glibc

    text = params["glibc"]
    if text is None and package_dir is not None:
        text = declared_glibc(package_dir)
    return None if text is None else parse_floor(text)


def _package_dir(params: BundleParams) -> str | None:
    """The folder of the package a crate source builds (at a workspace root, the member
    -p names, or its one program), whose Cargo.toml says how; None for a built binary."""
    from packager.bundle.pipeline import is_crate
    from packager.crate.workspace import package_dir

    source = params["target"]
    if not is_crate(source):
        return None
    package, binary = params["package"], params["binary"]
    return str(package_dir(source, package=package, binary=binary, environ=os.environ))


def _request(params: BundleParams, target: str | None, package_dir: str | None) -> BundleRequest:
    """The typed request for the pipeline, from the command's options."""
    from packager.bundle.options import (
        BundleRequest,
        ContentOptions,
        ObtainOptions,
        OnefileOptions,
        parse_formats,
    )
    from packager.crate.appmeta import declared_gpg_key
    from packager.verify.roots import parse_distros

    formats = params["formats"]
    return BundleRequest(
        source=params["target"],
        out_dir=params["out_dir"],
        name=params["name"],
        formats=parse_formats(",".join(formats)) if formats else None,
        obtain=ObtainOptions(
            mode=params["mode"],
            python=params["python"],
            target=target,
            package=params["package"],
            binary=params["binary"],
        ),
        content=ContentOptions(
            keep=params["keep"],
            app_dir=params["app_dir"],
            requirements=params["requirements"],
            stdlib_sources=params["stdlib_sources"],
            strip=not params["no_strip"],
            unstripped=params["no_strip_files"],
            strict_licenses=params["strict_licenses"],
            python_home=params["python_home"],
        ),
        onefile=params["onefile"],
        onefile_options=OnefileOptions(
            only_needed=params["only_needed"],
            scripts=params["scripts"],
            include=params["include"],
            site_dirs=params["site_dirs"],
            compress=not params["no_compress"],
            library_cache=not params["no_library_cache"],
        ),
        export_env=params["export_env"],
        workdir=params["workdir"],
        version=params["app_version"],
        metadata=_metadata_options(params),
        force=params["force"],
        verify=params["run_verify"],
        glibc=_glibc(params, package_dir),
        verify_on=() if params["verify_on"] is None else parse_distros(params["verify_on"]),
        # A onefile program writes nothing gpg signs: the crate's key applies to the rest.
        gpg_key=params["gpg_key"] or (None if params["onefile"] else declared_gpg_key(package_dir)),
        code_signing=code_signing(params, package_dir),
    )


def _metadata_options(params: BundleParams) -> MetadataOptions:
    """What the flags say about the app, for its installers."""
    from packager.crate.appmeta import MetadataOptions

    return MetadataOptions(
        display_name=params["display_name"],
        publisher=params["publisher"],
        description=params["description"],
        icon=params["icon"],
        license=params["license"],
        homepage=params["homepage"],
        upgrade_code=params["upgrade_code"],
        gui=params["gui"],
        categories=params["categories"],
    )
