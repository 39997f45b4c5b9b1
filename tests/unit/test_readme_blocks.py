"""The README's command blocks: which run, in which order, from which line (readme_blocks)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import readme_blocks
from tests.helpers import REPO

SAMPLE = """\
# title

```sh
echo one
```

<!-- readme-test: skip needs root and a display -->
```sh
echo skipped
```

```text
echo never
```

```console
$ echo never
```

```
echo never
```

- a list item:

  ```sh
  cd sub
  echo two
  ```

````sh
echo three
```
still three
````
"""


def test_sh_blocks_are_found_in_order_with_their_fence_lines() -> None:
    blocks = [block for block in readme_blocks.parse(SAMPLE) if block.runs]
    assert [(block.line, block.text) for block in blocks] == [
        (3, "echo one\n"),
        (26, "cd sub\necho two\n"),
        (31, "echo three\n```\nstill three\n"),
    ]


def test_a_skip_marker_keeps_the_block_below_from_running_and_says_why() -> None:
    skipped = readme_blocks.skipped(readme_blocks.parse(SAMPLE))
    assert [(block.line, block.skip) for block in skipped] == [(8, "needs root and a display")]


def test_blocks_of_other_info_strings_never_run() -> None:
    blocks = readme_blocks.parse(SAMPLE)
    assert [block.info for block in blocks if not block.runs] == ["sh", "text", "console", ""]


def test_a_skip_marker_without_a_reason_raises() -> None:
    with pytest.raises(ValueError, match="line 2: a readme-test skip marker needs a reason"):
        readme_blocks.parse("text\n<!-- readme-test: skip -->\n```sh\nls\n```\n")


def test_a_skip_marker_not_directly_above_a_fence_raises() -> None:
    with pytest.raises(ValueError, match=r"line 1: .* must be directly above a fence"):
        readme_blocks.parse("<!-- readme-test: skip slow -->\n\n```sh\nls\n```\n")


def test_a_fence_never_closed_raises() -> None:
    with pytest.raises(ValueError, match="line 2: the code block opened here is never closed"):
        readme_blocks.parse("text\n```sh\nls\n")


def _run_script(markdown: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the sh blocks of `markdown` as the README test runs the README's."""
    script = tmp_path / "readme.sh"
    script.write_text(readme_blocks.script(readme_blocks.parse(markdown)))
    return subprocess.run(
        ["bash", "-euo", "pipefail", str(script)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False,
    )  # fmt: skip


def test_the_script_marks_each_block_so_a_failure_names_its_line(tmp_path: Path) -> None:
    markdown = "```sh\nexport GREETING=hi\ncd /\n```\n\n```sh\necho $GREETING $PWD\nfalse\n```\n"
    completed = _run_script(markdown, tmp_path)
    assert (completed.returncode, completed.stdout.splitlines()[-1]) == (1, "hi /")
    assert readme_blocks.failed_block(completed.stdout) == 6


def test_a_block_whose_last_command_fails_left_of_and_stops_the_script(tmp_path: Path) -> None:
    markdown = "```sh\necho one\nfalse && echo never\n```\n\n```sh\necho two\n```\n"
    completed = _run_script(markdown, tmp_path)
    assert (completed.returncode, readme_blocks.failed_block(completed.stdout)) == (1, 1)


def test_the_environment_is_fresh_but_keeps_the_toolchains_and_caches(tmp_path: Path) -> None:
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    real = {
        "HOME": "/home/user", "PATH": f"{tmp_path}/venv/bin:/usr/bin:{tmp_path}/venv/bin/../bin",
        "PYTHONUNBUFFERED": "1", "VIRTUAL_ENV": str(tmp_path / "venv"),
        "RUSTUP_HOME": "/opt/rustup",
    }  # fmt: skip
    environ = readme_blocks.fresh_environ(real, tmp_path / "home", tmp_path / "venv" / "bin")
    assert environ == {
        "HOME": str(tmp_path / "home"), "PATH": "/usr/bin", "CI": "true",
        "CARGO_HOME": "/home/user/.cargo", "RUSTUP_HOME": "/opt/rustup",
        "XDG_CACHE_HOME": "/home/user/.cache",
    }  # fmt: skip


def test_the_real_readme_has_a_block_that_installs_packager() -> None:
    blocks = readme_blocks.parse((REPO / "README.md").read_text(encoding="utf-8"))
    found = [block.line for block in blocks if readme_blocks.installs_packager(block)]
    runs = [(block.line, block.text) for block in blocks if block.runs]
    assert found, f"no sh block that runs installs packager (pip/pipx install .): {runs}"
