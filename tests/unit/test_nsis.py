"""The NSIS script of a setup.exe: what it installs, how it quotes, what it removes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from packager.core.errors import UsageError
from packager.outputs.nsis import SetupPlan, nsis_script, setup_file_name, uninstall_key
from tests.unit.test_msi import META

KEY = (
    '"Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\'
    '{0F8D3A52-6C1B-4E7A-9D20-5B3C8E1F4A67}"'
)


FILES = ("Lib/site-packages/hook.py", "app/$price 5.txt", "hello.cmd", "hello.exe")


def _tree(root: Path) -> Path:
    for path in FILES:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x")
    return root


def _script(tmp_path: Path, **changes: object) -> list[str]:
    plan = SetupPlan(
        root=str(_tree(tmp_path / "hello")),
        program="hello.cmd",
        meta=META,
        icon=None,
        out_path="/out/hello-1.2.3-setup.exe",
        target="amd64-unicode",
        # What write_setup links each file to, in the tree's order.
        sources={path: f"files/{index}" for index, path in enumerate(FILES)},
    )
    return nsis_script(replace(plan, **changes)).splitlines()  # type: ignore[arg-type]


def _section(lines: list[str], name: str) -> list[str]:
    start = lines.index(name)
    return lines[start + 1 : lines.index("SectionEnd", start)]


def test_header_installs_per_user_with_the_program_s_stub(tmp_path: Path) -> None:
    lines = _script(tmp_path)
    assert lines[0] == "Target amd64-unicode"
    assert "RequestExecutionLevel user" in lines
    assert 'Name "Hello & <Friends>"' in lines
    assert 'OutFile "/out/hello-1.2.3-setup.exe"' in lines
    # The display name holds < >: the folder is the bundle's name.
    assert 'InstallDir "$LOCALAPPDATA\\Programs\\hello"' in lines


def test_every_installed_file_is_uninstalled_by_name(tmp_path: Path) -> None:
    lines = _script(tmp_path)
    install, uninstall = _section(lines, "Section"), _section(lines, "Section Uninstall")
    files = [line for line in install if line.startswith("  File ")]
    installed = [line.split('"')[1].removeprefix("/oname=") for line in files]
    assert installed == ["hook.py", "$$price 5.txt", "hello.cmd", "hello.exe"]
    # makensis reads the file by its linked name, which holds nothing it would expand.
    assert '  File "/oname=$$price 5.txt" "files/1"' in install
    deleted = [line for line in uninstall if line.startswith("  Delete ")]
    assert '  Delete "$INSTDIR\\app\\$$price 5.txt"' in deleted
    assert '  Delete "$INSTDIR\\Lib\\site-packages\\hook.py"' in deleted
    assert '  Delete "$INSTDIR\\Lib\\site-packages\\__pycache__\\*.pyc"' in deleted
    assert '  Delete "$INSTDIR\\uninstall.exe"' in deleted
    # Folders go deepest first, each only if empty (RMDir without /r), the install folder last.
    removed = [line.removeprefix("  RMDir ") for line in uninstall if line.startswith("  RMDir")]
    assert removed == [
        '"$INSTDIR\\Lib\\site-packages\\__pycache__"',
        '"$INSTDIR\\Lib\\site-packages"',
        '"$INSTDIR\\Lib"',
        '"$INSTDIR\\app"',
        '"$INSTDIR"',
    ]
    assert not [line for line in uninstall if "/r" in line.split('"')[0]]
    assert uninstall[-1] == f"  DeleteRegKey HKCU {KEY}"


def test_an_installed_version_is_uninstalled_first_and_the_new_one_registered(
    tmp_path: Path,
) -> None:
    install = _section(_script(tmp_path), "Section")
    assert install[0] == f"  ReadRegStr $0 HKCU {KEY} InstallLocation"
    assert "  ExecWait '\"$0\\uninstall.exe\" /S _?=$0'" in install
    assert install.index("  fresh:") < install.index('  WriteUninstaller "$INSTDIR\\uninstall.exe"')
    writes = [line.strip().split(" ", 4) for line in install if "WriteReg" in line]
    registry = {name: value for _, _, _, name, value in writes}
    assert registry["DisplayVersion"] == '"1.2.3"'
    assert registry["Publisher"] == '"Example Ltd"'
    assert registry["QuietUninstallString"] == '"$\\"$INSTDIR\\uninstall.exe$\\" /S"'
    assert registry["URLInfoAbout"] == '"https://example.org/hello?a=1&b=2"'
    assert uninstall_key(META).endswith("{0F8D3A52-6C1B-4E7A-9D20-5B3C8E1F4A67}")


def test_names_are_quoted_for_nsis(tmp_path: Path) -> None:
    meta = replace(META, display_name='Cash $5 "deal"', publisher="A $HOME B")
    lines = _script(tmp_path, meta=meta)
    assert 'Name "Cash $$5 $\\"deal$\\""' in lines
    assert any(line.endswith(' Publisher "A $$HOME B"') for line in lines)
    # '"' is not allowed in a Windows folder name: the bundle's name is used.
    assert 'InstallDir "$LOCALAPPDATA\\Programs\\hello"' in lines
    cash = _script(tmp_path, meta=replace(META, display_name="Cash $5"))
    assert 'InstallDir "$LOCALAPPDATA\\Programs\\Cash $$5"' in cash
    assert any(line.startswith('  CreateShortcut "$SMPROGRAMS\\Cash $$5.lnk"') for line in cash)


def test_the_shortcut_and_icon(tmp_path: Path) -> None:
    lines = _script(tmp_path, program="hello.exe", icon=str(tmp_path / "app.ico"))
    [shortcut] = [line for line in lines if line.startswith("  CreateShortcut ")]
    assert shortcut == (
        '  CreateShortcut "$SMPROGRAMS\\hello.lnk" "$INSTDIR\\hello.exe" "" "$INSTDIR\\app.ico"'
    )
    assert '  File "/oname=app.ico" "' + str(tmp_path / "app.ico") + '"' in lines
    assert '  Delete "$INSTDIR\\app.ico"' in lines
    # The installer and the uninstaller show it too.
    assert 'Icon "' + str(tmp_path / "app.ico") + '"' in lines
    assert 'UninstallIcon "' + str(tmp_path / "app.ico") + '"' in lines


def test_file_name_and_machines() -> None:
    assert setup_file_name("hello", "1.2.0-1", "x86_64") == "hello-1.2.0-1-setup.exe"
    with pytest.raises(UsageError, match="aarch64"):
        setup_file_name("hello", "1.0", "aarch64")


def test_a_tree_with_a_licence_index_shows_it_on_a_page_before_the_install(
    tmp_path: Path,
) -> None:
    sources = {path: f"files/{index}" for index, path in enumerate(FILES)}
    lines = _script(tmp_path, sources={**sources, "licenses/README": "files/9"})
    page = lines.index("Page license")
    expected = ['LicenseData "files/9"', "Page license", "Page instfiles"]
    assert [lines[page - 2], *lines[page : page + 2]] == expected
