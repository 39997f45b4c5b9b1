"""Staging directories record their owner; only those of owners that are gone are removed."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from packager.core.atomic import (
    OWNER_FILE,
    STAGING_PREFIX,
    Owner,
    Staging,
    current_owner,
    owner_is_gone,
    remove_stale_staging,
)
from packager.core.errors import EXIT_USAGE, UnreadableInputError
from tests.helpers import REPO


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped) a moment ago."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def staging_dir(out: Path, name: str, owner: Owner | None) -> Path:
    path = out / f"{STAGING_PREFIX}{name}"
    (path / "tree").mkdir(parents=True)
    (path / "tree" / "big").write_bytes(b"x" * 1000)
    if owner is not None:
        (path / OWNER_FILE).write_text(owner.render())
    return path


def test_the_owner_record_reads_back() -> None:
    me = current_owner()
    assert me.pid == os.getpid() and me.start_time and me.boot_id
    assert Owner.parse(me.render()) == me
    assert Owner.parse("") is None
    assert Owner.parse(me.render().replace(f"pid={me.pid}", "pid=twelve")) is None


def test_what_counts_as_gone() -> None:
    me = current_owner()
    dead = dead_pid()
    assert not owner_is_gone(me, me)
    # The pid is running, but it is another process: the start time differs.
    assert owner_is_gone(dataclasses.replace(me, start_time="1"), me)
    assert owner_is_gone(dataclasses.replace(me, pid=dead), me)
    # Recorded before a reboot: whatever runs under that pid now is not the owner.
    assert owner_is_gone(dataclasses.replace(me, boot_id="another-boot"), me)
    # Owners that cannot be looked up from here are never judged gone.
    assert not owner_is_gone(dataclasses.replace(me, pid=dead, host="elsewhere"), me)
    assert not owner_is_gone(dataclasses.replace(me, pid=dead, pid_namespace="pid:[1]"), me)


def test_only_stale_staging_directories_are_removed(tmp_path: Path) -> None:
    me = current_owner()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        # This process's own directory, made (and left) by the real code.
        own = Owner.parse((Path(Staging(str(tmp_path)).path) / OWNER_FILE).read_text())
        assert own == me
        # A second process's directory, recorded as the real code records it.
        holder = dataclasses.replace(me, pid=sleeper.pid, start_time=_start_of(sleeper.pid))
        stale = [
            staging_dir(tmp_path, "dead", dataclasses.replace(me, pid=dead_pid())),
            staging_dir(tmp_path, "reused", dataclasses.replace(holder, start_time="1")),
        ]
        kept = [
            staging_dir(tmp_path, "live", holder),
            staging_dir(tmp_path, "legacy", None),
            staging_dir(tmp_path, "other-host", dataclasses.replace(me, host="h", pid=dead_pid())),
        ]
        (tmp_path / "user-data").mkdir()
        (tmp_path / "user-data" / OWNER_FILE).write_text(me.render())
        removed = remove_stale_staging(str(tmp_path))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert sorted(removed) == sorted(str(path) for path in stale)
    assert [path.exists() for path in stale] == [False, False]
    assert all(path.exists() for path in kept)
    assert (tmp_path / "user-data").exists()
    assert len([p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]) == 4


def test_a_symlink_or_another_users_directory_is_never_removed(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test gives a directory to another user: run it as root")
    gone = dataclasses.replace(current_owner(), pid=dead_pid())
    target = staging_dir(tmp_path / "elsewhere", "target", gone)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / f"{STAGING_PREFIX}link").symlink_to(target)
    foreign = staging_dir(tmp_path / "out", "foreign", gone)
    os.chown(foreign, 4321, 4321)
    assert remove_stale_staging(str(tmp_path / "out")) == []
    assert (target / "tree" / "big").exists()
    assert (foreign / "tree" / "big").exists()


def test_a_staging_directory_is_removed_with_its_owner_record(tmp_path: Path) -> None:
    with Staging(str(tmp_path)) as staging:
        record = Owner.parse((Path(staging.path) / OWNER_FILE).read_text())
        assert record == current_owner()
    assert list(tmp_path.iterdir()) == []


def _start_of(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2 :].split()[19]


def test_an_input_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnreadableInputError) as raised, Staging(str(out)) as staging:
        shutil.copyfile(tmp_path / "loop", staging.entry("copy"))
    assert raised.value.path == str(tmp_path / "loop")
    assert raised.value.message == "too many levels of symbolic links"
    assert list(out.iterdir()) == []


# Writes 8 MB into a staging directory on a 4 MB tmpfs ($1), the way the bundle step does
# (a file copy, a tree copy, a tool), then prints the error and what the tmpfs holds.
_FILL = """
import json, os, shutil, sys
from packager.core import runner
from packager.core.atomic import Staging
from packager.core.errors import PackagerError
out, source, how = sys.argv[1:]
try:
    with Staging(out) as staging:
        if how == "copy":
            shutil.copyfile(os.path.join(source, "big"), staging.entry("big"))
        elif how == "tree":
            shutil.copytree(source, staging.entry("tree"))
        else:
            runner.run(["dd", "if=" + os.path.join(source, "big"), "of=" + staging.entry("big")],
                       environ={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
except PackagerError as exc:
    print(json.dumps([type(exc).__name__, exc.exit_code, exc.path, exc.message, exc.fix,
                      os.listdir(out)]))
"""


@pytest.mark.parametrize("how", ["copy", "tree", "tool"])
def test_a_full_file_system_becomes_one_clear_error(tmp_path: Path, how: str) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare is not installed (Debian: apt-get install util-linux)")
    namespace = [unshare, "-m"] if os.geteuid() == 0 else [unshare, "-r", "-m"]
    source = tmp_path / "source"
    source.mkdir()
    (source / "big").write_bytes(os.urandom(8 << 20))
    out = tmp_path / "out"
    out.mkdir()
    mount = 'mount -t tmpfs -o size=4m tmpfs "$1" && shift && exec "$@"'
    fill = [sys.executable, "-c", _FILL, str(out), str(source), how]
    completed = subprocess.run(
        [*namespace, "sh", "-c", mount, "sh", str(out), *fill],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    kind, exit_code, path, message, fix, left = json.loads(completed.stdout)
    assert (kind, exit_code, path, left) == ("OutputWriteError", EXIT_USAGE, str(out), [])
    assert message.startswith("no space left on device (while ")
    assert message.endswith("; nothing was written")
    assert "dd" in message if how == "tool" else "big" in message
    assert "--out" in fix
