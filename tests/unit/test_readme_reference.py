"""README.md's Reference section names every command of the CLI and every long option of each.

Under `## Reference`, each command has its own heading (`### packager`, `### packager bundle`,
`### packager runtime build`), and under it a bullet list whose items begin with the
command's long options in backticks (`- `--out DIR`: ...`, `- `--gui`, `--console`: ...`).
The commands are read from the click group itself, so a command or an option added to the
CLI without the README (or left in the README after it is gone) fails here.
"""

from __future__ import annotations

import re

import click

from packager.cli.main import cli
from tests.helpers import REPO

README = REPO / "README.md"
SECTION = "Reference"
_HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
# A bullet item's leading run of options: "- `--out DIR`: ..." or "- `--gui`, `--console`: ...".
_BULLET = re.compile(r"^\s*[-*]\s+(?P<options>`--[^`]+`(?:\s*(?:,|/|or)\s*`--[^`]+`)*)")
_OPTION = re.compile(r"`(--[A-Za-z0-9][A-Za-z0-9-]*)")


def _commands(command: click.Command, path: str) -> dict[str, set[str]]:
    """Each command's path (`packager runtime build`) -> its long options, --help left out."""
    options = set()
    for param in command.params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                if name.startswith("--") and name != "--help":
                    options.add(name)
    found = {path: options}
    if isinstance(command, click.Group):
        context = click.Context(command, info_name=path.split()[-1])
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, f"`{path} {name}` is listed but cannot be loaded"
            found.update(_commands(sub, f"{path} {name}"))
    return found


def _reference(markdown: str) -> dict[str, set[str]]:
    """Each `### packager ...` heading of the Reference section -> the options it lists."""
    documented: dict[str, set[str]] = {}
    inside, current, fence = False, None, False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            continue
        heading = None if fence else _HEADING.match(line)
        if heading is not None:
            level, title = len(heading["level"]), heading["title"].strip("` ")
            if level <= 2:
                inside, current = title == SECTION, None
            elif inside and level == 3:
                current = " ".join(title.replace("`", "").split())
                assert current not in documented, f"README Reference: `### {current}` twice"
                documented[current] = set()
            elif inside and level < 3:
                current = None
            continue
        bullet = _BULLET.match(line) if inside and current and not fence else None
        if bullet is not None:
            documented[current] |= set(_OPTION.findall(bullet["options"]))
    return documented


def test_the_readme_reference_matches_the_cli() -> None:
    actual = _commands(cli, "packager")
    documented = _reference(README.read_text(encoding="utf-8"))
    assert documented, f"README.md has no `## {SECTION}` section with `### packager` headings"
    problems = []
    for name in sorted(actual.keys() - documented.keys()):
        problems.append(f"`{name}` is a command, but README.md has no `### {name}` heading")
    for name in sorted(documented.keys() - actual.keys()):
        problems.append(f"README.md has `### {name}`, but packager has no such command")
    for name in sorted(actual.keys() & documented.keys()):
        missing = sorted(actual[name] - documented[name])
        extra = sorted(documented[name] - actual[name])
        if missing:
            problems.append(f"`{name}` has {', '.join(missing)}: not listed under its heading")
        if extra:
            problems.append(f"README.md lists {', '.join(extra)} under `{name}`: no such option")
    assert not problems, f"README.md's {SECTION} section is out of date:\n" + "\n".join(problems)


def test_the_reference_reader_sees_options_and_headings() -> None:
    markdown = (
        "## Reference\n\n### packager demo\n\n- `--out DIR`: where.\n"
        "- `--gui`, `--console`: which; see `--out`.\n- not an option: `--nope`\n\n"
        "```text\n### packager fenced\n- `--nope`\n```\n\n## After\n\n### packager later\n"
    )
    assert _reference(markdown) == {"packager demo": {"--out", "--gui", "--console"}}
