"""A tool packager runs dies with packager, even when packager is killed with SIGKILL,
and so does what the tool started (dpkg-deb's compressor, cargo's rustc).

After SIGKILL nothing of packager runs to stop its children, so the kernel must: the
runner sets the parent death signal in each child, and a watchdog (packager.core.reaper)
kills the tools' process groups once packager's end closes its pipe. Here a Python
process runs `sleep` through the runner, directly or under a shell that waits for it,
writes its pid, and is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.integration

SCRIPT = """
import sys
from packager.core import runner
command = ["sh", "-c", 'echo $$ > "$0"; exec sleep 300', sys.argv[1]]
runner.run(command, environ={"PATH": "/usr/bin:/bin"})
"""
# The tool is a shell; what it started, `sleep`, writes the pid. The runner tells the
# watchdog about the tool's group right after starting it, with one write; the shell waits
# a moment first so that the kill below cannot come between the two.
GRANDCHILD = SCRIPT.replace(
    """'echo $$ > "$0"; exec sleep 300'""", """'sleep 300 & sleep 0.5; echo $! > "$0"; wait'"""
)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("stream", [False, True], ids=["captured", "streamed"])
@pytest.mark.parametrize("started", ["tool", "what-the-tool-started"])
def test_a_tool_dies_when_packager_is_killed(tmp_path: Path, stream: bool, started: str) -> None:
    pid_file = tmp_path / "child.pid"
    script = SCRIPT if started == "tool" else GRANDCHILD
    script = script if not stream else script.replace("environ=", "on_line=print, environ=")
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(pid_file)], env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    for _ in range(200):  # the child writes its pid once it runs
        if pid_file.is_file() and pid_file.read_text().strip():
            break
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):  # the kernel delivers the signal as the parent exits
        if not _alive(child):
            break
        time.sleep(0.05)
    still_running = _alive(child)
    if still_running:
        os.kill(child, signal.SIGKILL)
    assert not still_running
