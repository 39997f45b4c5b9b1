"""The README's command blocks, and the fresh copy of the checkout they run in.

A fenced code block whose info string is exactly `sh` holds commands. They run in document
order, all in one `bash -euo pipefail` process, so `export` and `cd` carry over from one
block to the next. A block whose opening fence is directly below the line
`<!-- readme-test: skip REASON -->` is not run; REASON must be given. Blocks of any other
info string (`text`, `console`, `toml`, none) are shown, never run.

Before each block the script prints a marker line naming the block's README line, so the
last marker of the output names the block that failed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

COMMAND_INFO = "sh"
MARKER = "### readme-test: the sh block at README.md line "
_MARKER_LINE = re.compile(rf"^{re.escape(MARKER)}(\d+)$", re.MULTILINE)
_SKIP = re.compile(r"^\s*<!--\s*readme-test:\s*skip\b(.*?)-->\s*$")
_ANY_MARKER = re.compile(r"^\s*<!--\s*readme-test:")
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# An install of this checkout (`.`, `.[test]`, a built wheel) or of the PyPI distribution.
_INSTALL = re.compile(r"\b(?:pipx|pip3?|uv\s+pip|uv\s+tool)\s+install\b(?P<rest>.*)$")
_INSTALLED = re.compile(r"""(?:^|\s)["']?(?:\.|\./|\.\[|\S+\.whl|pyo3-packager\b)""")


class ReadmeSkip(UserWarning):
    """A README block the test does not run, and why (shown in pytest's warnings summary)."""


@dataclass(frozen=True)
class Block:
    """One fenced code block: the README line of its opening fence (1-based), its info
    string, its text (ending with a newline unless empty), and why it is skipped, if it is."""

    line: int
    info: str
    text: str
    skip: str | None = None

    @property
    def runs(self) -> bool:
        return self.info == COMMAND_INFO and self.skip is None


def parse(markdown: str) -> list[Block]:
    """Every fenced code block of `markdown`, in document order. A skip marker without a
    reason, one that is not directly above a fence, or a fence never closed raises
    ValueError naming the line."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    pending: tuple[int, str] | None = None  # a skip marker on the line just read
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = _FENCE.match(line)
        if opening and not (opening["fence"][0] == "`" and "`" in opening["info"]):
            skip = pending[1] if pending is not None else None
            block, index = _read_block(lines, index, opening, skip)
            blocks.append(block)
            pending = None
            continue
        if pending is not None:
            raise ValueError(
                f"line {pending[0]}: a readme-test skip marker must be directly above a fence"
            )
        pending = _skip_marker(line, index + 1)
        index += 1
    if pending is not None:
        raise ValueError(f"line {pending[0]}: a readme-test skip marker ends the document")
    return blocks


def _skip_marker(line: str, number: int) -> tuple[int, str] | None:
    """(number, reason) when `line` is a skip marker; ValueError when it is a malformed one."""
    if not _ANY_MARKER.match(line):
        return None
    found = _SKIP.match(line)
    if found is None:
        raise ValueError(f"line {number}: expected `<!-- readme-test: skip REASON -->`")
    reason = found[1].strip()
    if not reason:
        raise ValueError(f"line {number}: a readme-test skip marker needs a reason")
    return number, reason


def _read_block(
    lines: list[str], start: int, opening: re.Match[str], skip: str | None
) -> tuple[Block, int]:
    """The block whose opening fence is `lines[start]`, and the index after its closing fence.
    Its lines lose up to the fence's own indentation, as CommonMark has it."""
    fence, indent = opening["fence"], len(opening["indent"])
    closing = re.compile(rf"^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    body: list[str] = []
    for index in range(start + 1, len(lines)):
        if closing.match(lines[index]):
            text = "".join(f"{_dedent(item, indent)}\n" for item in body)
            info = opening["info"].strip()
            return Block(line=start + 1, info=info, text=text, skip=skip), index + 1
        body.append(lines[index])
    raise ValueError(f"line {start + 1}: the code block opened here is never closed")


def _dedent(line: str, indent: int) -> str:
    removable = len(line) - len(line.lstrip(" "))
    return line[min(indent, removable) :]


# After each block: `set -e` ignores a failure on the left of `&&` (`sudo apt install x &&
# pipx install .`), so a block whose last command exits non-zero stops the script here.
_BLOCK_END = (
    "__readme_test_status=$?\n"
    'if [ "$__readme_test_status" -ne 0 ]; then\n'
    '  echo "### readme-test: the block ended with exit status $__readme_test_status" >&2\n'
    '  exit "$__readme_test_status"\n'
    "fi\n"
)


def script(blocks: list[Block]) -> str:
    """The bash script of the blocks that run, each after its marker line."""
    parts = []
    for block in blocks:
        if block.runs:
            parts.append(f"printf '%s\\n' '{MARKER}{block.line}'\n{block.text}{_BLOCK_END}")
    return "".join(parts)


def skipped(blocks: list[Block]) -> list[Block]:
    """The `sh` blocks a skip marker keeps from running."""
    return [block for block in blocks if block.info == COMMAND_INFO and block.skip is not None]


def failed_block(output: str) -> int | None:
    """The README line of the last block that started, read from the script's output."""
    found = _MARKER_LINE.findall(output)
    return int(found[-1]) if found else None


def installs_packager(block: Block) -> bool:
    """Whether a block that runs installs packager (this checkout, a wheel, or from PyPI)."""
    if not block.runs:
        return False
    for line in block.text.splitlines():
        found = _INSTALL.search(line)
        if found and _INSTALLED.search(found["rest"]):
            return True
    return False


def fresh_environ(real: Mapping[str, str], home: Path, venv_bin: Path | None) -> dict[str, str]:
    """The README's environment: an empty HOME, the real cargo, rustup and cache folders, the
    real PATH without the test venv's bin folder, no PYTHONUNBUFFERED or VIRTUAL_ENV, CI."""
    real_home = Path(real.get("HOME") or Path.home())
    environ = {k: v for k, v in real.items() if k not in ("PYTHONUNBUFFERED", "VIRTUAL_ENV")}
    environ["HOME"] = str(home)
    environ["CARGO_HOME"] = real.get("CARGO_HOME") or str(real_home / ".cargo")
    environ["RUSTUP_HOME"] = real.get("RUSTUP_HOME") or str(real_home / ".rustup")
    environ["XDG_CACHE_HOME"] = real.get("XDG_CACHE_HOME") or str(real_home / ".cache")
    environ["PATH"] = without_folder(real.get("PATH", ""), venv_bin)
    environ["CI"] = "true"
    return environ


def running_venv_bin() -> Path | None:
    """The bin folder of the venv running the tests, if they run from one."""
    return Path(sys.prefix) / "bin" if sys.prefix != sys.base_prefix else None


def without_folder(search_path: str, folder: Path | None) -> str:
    """`search_path` (PATH's syntax) without `folder`, however it is spelled there."""
    if folder is None:
        return search_path
    gone = os.path.realpath(folder)
    kept = [item for item in search_path.split(os.pathsep) if os.path.realpath(item) != gone]
    return os.pathsep.join(kept)


def copy_checkout(repo: Path, destination: Path) -> list[str]:
    """Copy the checkout's files as a fresh clone with the new files has them (tracked, and
    untracked but not ignored) into `destination`; the relative paths copied, sorted."""
    git = shutil.which("git")
    if git is None:
        raise RuntimeError("git is not installed (Debian: apt-get install git)")
    listing = subprocess.run(
        [git, "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    names = sorted({name for name in listing.stdout.decode().split("\0") if name})
    present = [name for name in names if (repo / name).is_file() or (repo / name).is_symlink()]
    destination.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        ["tar", "-C", str(repo), "--null", "-T", "-", "-cf", "-"],
        input="\0".join(present).encode(), capture_output=True, check=True, timeout=600,
    )  # fmt: skip
    subprocess.run(
        ["tar", "-C", str(destination), "-xf", "-"], input=packed.stdout, check=True, timeout=600
    )
    return present
