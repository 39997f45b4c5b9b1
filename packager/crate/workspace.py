"""Which package of a cargo workspace to build, and where cargo puts what it builds.

`cargo metadata --no-deps` answers both, as cargo itself sees them: the members and
their binary targets, the workspace root, and the target directory after
`CARGO_TARGET_DIR` and `.cargo/config.toml`. A crate outside any workspace is the
one-member case of the same answer.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packager.core import runner
from packager.core.errors import ToolError, UsageError

_CARGO_FIX = "install Rust with rustup (https://rustup.rs)"


@dataclass(frozen=True)
class CargoPackage:
    """One member of a workspace, as cargo describes it."""

    name: str
    directory: Path
    binaries: tuple[str, ...]  # its [[bin]] targets
    path_dependencies: tuple[tuple[str, Path], ...]  # (name, directory) of crates used by path


@dataclass(frozen=True)
class Selection:
    """The package to build, and the facts cargo gives about its workspace."""

    package: CargoPackage
    binary: str | None  # --bin, when given or when the package has several
    workspace_root: Path
    target_dir: Path
    members: tuple[CargoPackage, ...]

    def cargo_args(self) -> list[str]:
        """What selects this package and binary on cargo's command line."""
        args = ["--manifest-path", str(self.workspace_root / "Cargo.toml")]
        args += ["-p", self.package.name]
        if self.binary is not None:
            args += ["--bin", self.binary]
        return args


def select_package(
    crate_dir: Path,
    *,
    package: str | None,
    binary: str | None,
    environ: Mapping[str, str],
) -> Selection:
    """The package (and binary) of the workspace at or around `crate_dir` to build.

    Without `package`, the crate at `crate_dir` is chosen when it is a package; at a
    virtual workspace root, the one member with a program is, and several are refused
    with their names.
    """
    cargo = runner.require("cargo", environ, fix=_CARGO_FIX)
    argv = [cargo, "metadata", "--no-deps", "--format-version", "1"]
    argv += ["--manifest-path", str(crate_dir / "Cargo.toml")]
    result = runner.run(argv, environ=environ, check=False)
    if result.returncode != 0:
        raise UsageError(
            f"cargo cannot read this crate: {_last_line(result.stderr)}",
            path=str(crate_dir / "Cargo.toml"),
        )
    return choose(parse_metadata(result.stdout), crate_dir, package=package, binary=binary)


@dataclass(frozen=True)
class Metadata:
    """What `cargo metadata --no-deps` says of a workspace."""

    workspace_root: Path
    target_dir: Path
    members: tuple[CargoPackage, ...]


def find_crate_dir(crate: str | os.PathLike[str]) -> Path:
    """The folder of a crate given as its folder or its Cargo.toml; a UsageError when it
    has no Cargo.toml."""
    path = Path(crate).absolute()
    if path.is_file() and path.name == "Cargo.toml":
        path = path.parent
    if not (path / "Cargo.toml").is_file():
        raise UsageError(
            "no Cargo.toml here",
            path=str(path),
            fix="pass the crate directory, or create one with `packager new NAME`",
        )
    return path


def package_dir(
    crate: str | os.PathLike[str],
    *,
    package: str | None,
    binary: str | None,
    environ: Mapping[str, str],
) -> Path:
    """The folder of the package `select_package` would choose for `crate` (a folder or
    its Cargo.toml), read without cargo when it is a package and nothing else is asked
    for (a workspace root without a [package], -p or --bin asks cargo)."""
    folder = find_crate_dir(crate)
    if package is None and binary is None and _has_package_table(folder / "Cargo.toml"):
        return folder
    selection = select_package(folder, package=package, binary=binary, environ=environ)
    return selection.package.directory


def load_manifest(path: Path) -> dict[str, object]:
    """The Cargo.toml at `path`, parsed; UsageError when it cannot be read (not UTF-8,
    not TOML)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read Cargo.toml: {exc}", path=str(path)) from exc


def _has_package_table(manifest: Path) -> bool:
    return manifest.is_file() and isinstance(load_manifest(manifest).get("package"), dict)


def parse_metadata(text: str) -> Metadata:
    """The workspace facts from `cargo metadata --no-deps --format-version 1` output."""
    try:
        document = json.loads(text)
        members = set(document["workspace_members"])
        packages = tuple(
            _package(entry) for entry in document["packages"] if entry["id"] in members
        )
        return Metadata(
            Path(document["workspace_root"]), Path(document["target_directory"]), packages
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolError(f"cargo metadata printed what packager cannot read ({exc})") from exc


def _package(entry: Mapping[str, object]) -> CargoPackage:
    targets = entry["targets"]
    dependencies = entry["dependencies"]
    assert isinstance(targets, list) and isinstance(dependencies, list)
    return CargoPackage(
        name=str(entry["name"]),
        directory=Path(str(entry["manifest_path"])).parent,
        binaries=tuple(str(t["name"]) for t in targets if "bin" in t["kind"]),
        path_dependencies=tuple(
            (str(d["name"]), Path(str(d["path"])))
            for d in dependencies
            if d.get("path") and d.get("kind") is None
        ),
    )


def choose(
    metadata: Metadata, crate_dir: Path, *, package: str | None, binary: str | None
) -> Selection:
    """Pick the package and binary from the workspace's members (see `select_package`)."""
    members = metadata.members
    if package is not None:
        chosen = _named(members, package)
    else:
        here = [m for m in members if m.directory.resolve() == crate_dir.resolve()]
        chosen = here[0] if here else _only_program(members, metadata.workspace_root)
    if binary is not None and binary not in chosen.binaries:
        raise UsageError(
            f"package {chosen.name} has no binary {binary!r}"
            + (f" (it has {', '.join(chosen.binaries)})" if chosen.binaries else ""),
            path=str(chosen.directory / "Cargo.toml"),
            fix="pass one of its binaries to --bin",
        )
    if binary is None and len(chosen.binaries) > 1:
        raise UsageError(
            f"package {chosen.name} has several binaries: {', '.join(chosen.binaries)}",
            path=str(chosen.directory / "Cargo.toml"),
            fix=f"choose one with --bin (e.g. --bin {chosen.binaries[0]})",
        )
    return Selection(chosen, binary, metadata.workspace_root, metadata.target_dir, members)


def _named(members: Sequence[CargoPackage], name: str) -> CargoPackage:
    for member in members:
        if member.name == name:
            return member
    raise UsageError(
        f"the workspace has no package {name!r}",
        fix=f"pass one of its members to -p: {', '.join(m.name for m in members)}",
    )


def _only_program(members: Sequence[CargoPackage], root: Path) -> CargoPackage:
    programs = [m for m in members if m.binaries]
    if len(programs) == 1:
        return programs[0]
    if not programs:
        raise UsageError(
            "no member of this workspace has a binary to build",
            path=str(root / "Cargo.toml"),
            fix="packager builds programs: add src/main.rs or a [[bin]] target to a member",
        )
    raise UsageError(
        f"this workspace has several programs: {', '.join(m.name for m in programs)}",
        path=str(root / "Cargo.toml"),
        fix=f"choose one with -p (e.g. -p {programs[0].name})",
    )


def resolved_features(
    selection: Selection, crate: str, *, environ: Mapping[str, str]
) -> frozenset[str] | None:
    """The features cargo turns on for `crate` in the selected package's build, whichever
    crate of the dependency graph asks for them; None when cargo cannot resolve it here."""
    cargo = runner.require("cargo", environ, fix=_CARGO_FIX)
    argv = [cargo, "metadata", "--format-version", "1", *selection.cargo_args()[:2]]
    result = runner.run(argv, environ=environ, check=False)
    if result.returncode != 0:
        return None
    return features_in(result.stdout, selection.package.name, crate)


def features_in(text: str, package: str, crate: str) -> frozenset[str] | None:
    """From `cargo metadata` output: the features of `crate` among `package`'s dependencies."""
    try:
        document = json.loads(text)
        nodes = {node["id"]: node for node in document["resolve"]["nodes"]}
        names = {entry["id"]: entry["name"] for entry in document["packages"]}
    except (ValueError, KeyError, TypeError):
        return None
    roots = [node_id for node_id, name in names.items() if name == package and node_id in nodes]
    seen: set[str] = set()
    features: set[str] = set()
    while roots:
        node_id = roots.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        if names.get(node_id) == crate:
            features.update(nodes[node_id].get("features", []))
        roots.extend(nodes[node_id].get("dependencies", []))
    return frozenset(features)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
