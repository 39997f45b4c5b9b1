"""What installers say about an app, declared once.

Read from the crate's `Cargo.toml`: `[package]` gives the version, description, authors,
licence and homepage, and `[package.metadata.packager]` (the place cargo-deb, cargo-wix and
cargo-bundle read their own tables from) adds or overrides them:

    [package.metadata.packager]
    display-name = "Hello"            # the name people see (menus, Add/Remove Programs)
    publisher = "Example Ltd"         # default: the first of `authors`, without the e-mail
    description = "Says hello"        # default: package.description
    icon = "assets/hello.png"         # a square PNG, relative to the crate
    license = "MIT"                   # default: package.license
    homepage = "https://example.org"  # default: package.homepage, else package.repository
    upgrade-code = "6f1c…"            # a GUID, stable across versions (Windows upgrades)
    gui = true                        # a windowed app: no terminal for its menu entry
    categories = ["Utility"]          # freedesktop menu categories
    targets = ["TRIPLE", ...]         # bundle's default --target (cargo's names)

    [package.metadata.packager.signing]
    gpg-key = "KEYID"                 # bundle's default --gpg-key
    pfx = "signing/code.pfx"          # bundle's default --sign-pfx (relative to the crate)
    timestamp-url = "http://…"        # bundle's default --sign-timestamp
    pkcs11-key = "pkcs11:token=…"     # bundle's default --sign-pkcs11-key (not with pfx);
    pkcs11-module = "/usr/lib/…so"    # --sign-pkcs11-module, and of the certificate
    pkcs11-cert = "pkcs11:…"          # --sign-pkcs11-cert, or cert = "code.pem" (--sign-cert)

Command-line flags override each value. Everything is validated before any build starts,
so a wrong icon path or a malformed GUID never costs a build.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from packager.core.errors import UsageError
from packager.crate.icon import Icon, read_icon
from packager.crate.workspace import load_manifest

DEFAULT_VERSION = "0.0.0"
_VERSION = re.compile(r"(?:[0-9]+:)?[0-9][A-Za-z0-9.+~]*(?:-[A-Za-z0-9.+~]+)?")
TABLE = "[package.metadata.packager]"
# Freedesktop main categories; additional ones are accepted alongside one of these.
MAIN_CATEGORIES = frozenset(
    [
        "AudioVideo",
        "Audio",
        "Video",
        "Development",
        "Education",
        "Game",
        "Graphics",
        "Network",
        "Office",
        "Science",
        "Settings",
        "System",
        "Utility",
    ]
)
_HEX = "[0-9A-Fa-f]"
_GUID = re.compile(rf"\{{?({_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})\}}?")
_URL = re.compile(r"https?://[^\s\"'<>]+")
_CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
# Characters that XML, .desktop files, shell scripts and spec files all carry safely.
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")
_KEYS = {
    "display-name": "display_name",
    "publisher": "publisher",
    "description": "description",
    "icon": "icon",
    "license": "license",
    "homepage": "homepage",
    "upgrade-code": "upgrade_code",
    "gui": "gui",
    "categories": "categories",
}
# Keys of the same table that say how to build and bundle, not what the app is.
_BUILD_KEYS = ("targets", "glibc", "signing")
_AUTHENTICODE_KEYS = (
    "pfx", "timestamp-url", "pkcs11-key", "pkcs11-module", "pkcs11-cert", "cert",
)  # fmt: skip
_SIGNING_KEYS = ("gpg-key", *_AUTHENTICODE_KEYS)
_CRATE_FILES = ("pfx", "pkcs11-module", "cert")  # paths relative to the crate


@dataclass(frozen=True)
class MetadataOptions:
    """Values given on the command line; None (or empty) means "not given"."""

    display_name: str | None = None
    publisher: str | None = None
    description: str | None = None
    icon: str | None = None
    license: str | None = None
    homepage: str | None = None
    upgrade_code: str | None = None
    gui: bool | None = None
    categories: tuple[str, ...] = ()

    def given(self) -> bool:
        """Whether any value was given."""
        return any(getattr(self, f.name) not in (None, ()) for f in fields(self))


def check_version(version: str) -> None:
    """Refuse a package version that dpkg, rpm or an installer would reject or misread."""
    if not _VERSION.fullmatch(version):
        raise UsageError(
            f"--version {version!r} is not a package version",
            fix="use digits, letters and . + ~, starting with a digit (e.g. 1.2.0 or 1.2.0-1)",
        )


@dataclass(frozen=True)
class AppMetadata:
    """The app as every installer describes it."""

    name: str  # the bundle's name: files, packages, commands
    display_name: str
    version: str
    publisher: str
    description: str
    icon: Icon | None
    license: str | None
    homepage: str | None
    upgrade_code: str  # an upper-case GUID without braces
    upgrade_code_derived: bool  # made from the name and publisher: stable only while they are
    gui: bool
    categories: tuple[str, ...]
    authors: tuple[str, ...] = ()  # package.authors as written ("Name <e-mail>")

    @property
    def summary(self) -> str:
        """One line for package summaries: the description's first line, or the name."""
        first = self.description.strip().splitlines()[0] if self.description.strip() else ""
        return first or self.display_name


def read_metadata(
    crate_dir: str | None,
    name: str,
    *,
    version: str | None,
    flags: MetadataOptions,
) -> AppMetadata:
    """The app's metadata: flags over `[package.metadata.packager]` over `[package]`.

    `crate_dir` is None for a built binary: then only the flags and `name` are used.
    """
    _check_encodable(flags)
    declared = _declared(Path(crate_dir)) if crate_dir is not None else _Declared()
    base = Path(crate_dir) if crate_dir is not None else Path.cwd()
    table = replace(declared.table, **_flag_values(flags))  # type: ignore[arg-type]
    chosen_version = version or declared.version or DEFAULT_VERSION
    check_version(chosen_version)
    publisher = table.publisher or declared.author or name
    display = table.display_name or name
    icon = _icon(table, flags, base)
    homepage = _homepage(table.homepage or declared.homepage)
    code = _upgrade_code(table.upgrade_code)
    categories = _categories(table.categories or ())
    meta = AppMetadata(
        name=name,
        display_name=display,
        version=chosen_version,
        publisher=publisher,
        description=table.description or declared.description or "",
        icon=icon,
        license=table.license or declared.license,
        homepage=homepage,
        upgrade_code=code or derived_upgrade_code(name, publisher),
        upgrade_code_derived=code is None,
        gui=bool(table.gui),
        categories=tuple(categories) or (("Utility",) if table.gui else ()),
        authors=declared.authors,
    )
    _check_text(meta)
    return meta


def _icon(table: MetadataOptions, flags: MetadataOptions, base: Path) -> Icon | None:
    """The icon the table names, checked: a flag's path as given, a table's from the crate."""
    if table.icon is None:
        return None
    where = table.icon if flags.icon is not None else os.path.join(base, table.icon)
    return read_icon(where, option="--icon" if flags.icon is not None else f"{TABLE} icon")


def _homepage(homepage: str | None) -> str | None:
    """`homepage`, refused unless it is an http(s) URL."""
    if homepage is not None and not _URL.fullmatch(homepage):
        raise UsageError(
            f"homepage {homepage!r} is not an http(s) URL", fix="e.g. https://example.org/app"
        )
    return homepage


def _upgrade_code(code: str | None) -> str | None:
    """`code` as an upper-case GUID without braces, refused unless it is a GUID."""
    if code is None:
        return None
    found = _GUID.fullmatch(code.strip())
    if found is None:
        raise UsageError(
            f"upgrade code {code!r} is not a GUID",
            fix="make one once (python3 -c 'import uuid; print(uuid.uuid4())') and keep it",
        )
    return found.group(1).upper()


def _categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    """`categories`, refused unless each is a name and one is a main menu category."""
    for category in categories:
        if not _CATEGORY.fullmatch(category):
            raise UsageError(f"desktop category {category!r} is not a category name")
    if categories and not MAIN_CATEGORIES & set(categories):
        raise UsageError(
            f"categories {', '.join(categories)} name no main menu category",
            fix=f"add one of {', '.join(sorted(MAIN_CATEGORIES))}",
        )
    return categories


def derived_upgrade_code(name: str, publisher: str) -> str:
    """A GUID made from the app's name and publisher: the same on every run and machine."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packager:{publisher}:{name}")).upper()


@dataclass(frozen=True)
class _Declared:
    # [package.metadata.packager], read into the same shape as the flags
    table: MetadataOptions = field(default_factory=MetadataOptions)
    version: str | None = None
    description: str | None = None
    author: str | None = None
    authors: tuple[str, ...] = ()
    license: str | None = None
    homepage: str | None = None


def _authors(value: object) -> tuple[str, ...]:
    """package.authors: its strings, as written."""
    if not isinstance(value, list):
        return ()
    return tuple(a.strip() for a in value if isinstance(a, str) and a.strip())


def _flag_values(flags: MetadataOptions) -> dict[str, object]:
    values = {f.name: getattr(flags, f.name) for f in fields(flags)}
    return {key: value for key, value in values.items() if value not in (None, ())}


def _declared(crate_dir: Path) -> _Declared:
    manifest_path = crate_dir / "Cargo.toml"
    manifest = load_manifest(manifest_path)
    package = manifest.get("package")
    if not isinstance(package, dict):
        return _Declared()
    inherited = _workspace_package(crate_dir)
    values = {
        key: _inherit(package.get(key), inherited, key, manifest_path)
        for key in ("version", "description", "authors", "license", "homepage", "repository")
    }
    listed = _authors(values["authors"])
    author = (re.sub(r"\s*<[^>]*>\s*$", "", listed[0]).strip() or None) if listed else None
    metadata = package.get("metadata")
    raw = metadata.get("packager") if isinstance(metadata, dict) else None
    return _Declared(
        table=_table(raw, manifest_path) if raw is not None else MetadataOptions(),
        version=_string(values["version"], "package.version", manifest_path),
        description=_string(values["description"], "package.description", manifest_path),
        author=author,
        authors=listed,
        license=_string(values["license"], "package.license", manifest_path),
        homepage=_string(values["homepage"] or values["repository"], "homepage", manifest_path),
    )


def _workspace_package(crate_dir: Path) -> Mapping[str, object]:
    """`[workspace.package]` of the nearest enclosing workspace, for `key.workspace = true`."""
    for directory in [crate_dir, *crate_dir.parents]:
        candidate = directory / "Cargo.toml"
        if not candidate.is_file():
            continue
        workspace = load_manifest(candidate).get("workspace")
        if isinstance(workspace, dict):
            package = workspace.get("package")
            return package if isinstance(package, dict) else {}
    return {}


def _inherit(value: object, inherited: Mapping[str, object], key: str, path: Path) -> object:
    if isinstance(value, dict) and value.get("workspace") is True:
        if key not in inherited:
            raise UsageError(
                f"package.{key} is inherited from the workspace, which does not set it",
                path=str(path),
            )
        return inherited[key]
    return value


def _string(value: object, key: str, path: Path) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise UsageError(f"{key} must be a string", path=str(path))


def _table(raw: object, path: Path) -> MetadataOptions:
    if not isinstance(raw, dict):
        raise UsageError(f"{TABLE} must be a table", path=str(path))
    unknown = sorted(set(raw) - set(_KEYS) - set(_BUILD_KEYS))
    if unknown:
        raise UsageError(
            f"{TABLE} has unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            path=str(path),
            fix=f"use {', '.join([*_KEYS, *_BUILD_KEYS])}",
        )
    values: dict[str, object] = {}
    for key, value in raw.items():
        if key in _BUILD_KEYS:
            continue  # not what installers say: the declared_* functions read them
        attr = _KEYS[key]
        if attr == "gui":
            if not isinstance(value, bool):
                raise UsageError(f"{TABLE} gui must be true or false", path=str(path))
        elif attr == "categories":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{TABLE} categories must be a list of strings", path=str(path))
            value = tuple(value)
        elif not isinstance(value, str) or not value.strip():
            raise UsageError(f"{TABLE} {key} must be a non-empty string", path=str(path))
        values[attr] = value
    return MetadataOptions(**values)  # type: ignore[arg-type]


_OPTION_NAMES = {"categories": "category"}  # fields whose option is named otherwise


def _check_encodable(flags: MetadataOptions) -> None:
    """Refuse a text flag that is not text: bytes the locale could not decode (surrogates).
    (--icon is a path, which may be any bytes.)"""
    for option_field in fields(flags):
        value = getattr(flags, option_field.name)
        for text in value if isinstance(value, tuple) else (value,):
            if option_field.name != "icon" and isinstance(text, str) and _has_surrogate(text):
                option = "--" + _OPTION_NAMES.get(option_field.name, option_field.name)
                option = option.replace("_", "-")
                raise UsageError(
                    f"{option} is not UTF-8 text: {os.fsencode(text)!r}",
                    fix=f"give {option} in UTF-8",
                )


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_text(meta: AppMetadata) -> None:
    for label, value in (
        ("display name", meta.display_name),
        ("publisher", meta.publisher),
        ("licence", meta.license or ""),
        ("description", meta.description.replace("\n", " ")),
        *(("author", author) for author in meta.authors),
    ):
        if _TEXT_FORBIDDEN.search(value):
            raise UsageError(f"the {label} holds control characters: {value!r}")


def _packager_table(manifest_path: Path) -> dict[str, object]:
    package = load_manifest(manifest_path).get("package")
    metadata = package.get("metadata") if isinstance(package, dict) else None
    table = metadata.get("packager") if isinstance(metadata, dict) else None
    return table if isinstance(table, dict) else {}


def declared_glibc(crate_dir: str) -> str | None:
    """The `glibc` of the crate's `[package.metadata.packager]`: bundle's default --glibc."""
    manifest_path = Path(crate_dir) / "Cargo.toml"
    glibc = _packager_table(manifest_path).get("glibc")
    if glibc is not None and not isinstance(glibc, str):
        raise UsageError(f'{TABLE} glibc must be a string, e.g. "2.17"', path=str(manifest_path))
    return glibc


def declared_targets(crate_dir: str) -> tuple[str, ...]:
    """The `targets` of the crate's `[package.metadata.packager]`: bundle's default --target."""
    manifest_path = Path(crate_dir) / "Cargo.toml"
    targets = _packager_table(manifest_path).get("targets", [])
    if not isinstance(targets, list) or not all(isinstance(t, str) and t for t in targets):
        raise UsageError(
            f"{TABLE} targets must be a list of target triples", path=str(manifest_path)
        )
    return tuple(targets)


def declared_gpg_key(crate_dir: str | None) -> str | None:
    """`gpg-key` of the crate's `[package.metadata.packager.signing]`: bundle's default
    --gpg-key (None for a built binary, or when not set)."""
    return _signing_value(crate_dir, "gpg-key")


def declared_authenticode(crate_dir: str | None) -> dict[str, str]:
    """The Authenticode keys the crate's `[package.metadata.packager.signing]` sets (files
    made absolute): bundle's defaults of --sign-pfx, --sign-timestamp, --sign-pkcs11-*
    and --sign-cert (none for a built binary)."""
    declared: dict[str, str] = {}
    for key in _AUTHENTICODE_KEYS:
        value = _signing_value(crate_dir, key)
        if value is not None and crate_dir is not None:
            in_crate = key in _CRATE_FILES
            declared[key] = os.path.join(os.path.abspath(crate_dir), value) if in_crate else value
    return declared


def _signing_value(crate_dir: str | None, key: str) -> str | None:
    """One string of `[package.metadata.packager.signing]`, its table checked."""
    if crate_dir is None:
        return None
    manifest_path = Path(crate_dir) / "Cargo.toml"
    signing = _packager_table(manifest_path).get("signing", {})
    where = f"{TABLE[:-1]}.signing]"
    if not isinstance(signing, dict):
        raise UsageError(f"{where} must be a table", path=str(manifest_path))
    unknown = sorted(set(signing) - set(_SIGNING_KEYS))
    if unknown:
        raise UsageError(
            f"{where} has unknown key {unknown[0]}",
            path=str(manifest_path),
            fix=f"use {', '.join(_SIGNING_KEYS)}",
        )
    value = signing.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise UsageError(f"{where} {key} must be a non-empty string", path=str(manifest_path))
    return value
