"""The verify sandbox holds whoever runs packager, root included.

bwrap run by root keeps every capability unless told otherwise: a program under verify
could remount the system writable, unmount the covers that hide Python, or make a user
namespace of its own to get capabilities back, or read packager's environment (a CI
job's tokens) from the processes it can see. The "bundle" here is a folder whose
launcher tries each and says so if it got through. What verify is given must be a file
or a folder: a FIFO named like an output would block the copy or the extraction forever.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from packager.core.errors import UnreadableInputError
from packager.verify.sandbox import verify_bundle

pytestmark = pytest.mark.integration

ATTEMPTS = {
    "remount-root-writable": "mount -o remount,rw,bind /",
    "unmount-a-cover": "umount /root",
    "new-user-namespace": "unshare -U -r true",
    "write-the-system": "touch /usr/packager-escape-{token}",
    # bwrap stays in the sandbox as its process 1: its environment must not be packager's.
    "read-packagers-environment": "cat /proc/[0-9]*/environ | tr '\\0' '\\n' | grep -q {token}",
}


def _bundle(tmp_path: Path, command: str) -> Path:
    """A folder bundle whose launcher runs `command` and prints ESCAPED if it worked."""
    tree = tmp_path / "attempt"
    tree.mkdir()
    launcher = tree / "attempt"
    launcher.write_text(f"#!/bin/sh\n{command} 2>/dev/null && echo ESCAPED\nexit 0\n")
    launcher.chmod(0o755)
    return tree


@pytest.mark.parametrize("attempt", sorted(ATTEMPTS))
def test_the_program_cannot_leave_its_sandbox(attempt: str, tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    command = ATTEMPTS[attempt].format(token=token)
    environ = {**os.environ, "PACKAGER_TEST_SECRET": f"secret-{token}"}
    result = verify_bundle(str(_bundle(tmp_path, command)), environ=environ)
    assert (result.returncode, result.stdout, os.path.exists(f"/usr/packager-escape-{token}")) == (
        0,
        "",
        False,
    ), result.stderr


@pytest.mark.parametrize("name", ["app.tar.gz", "app-1.0.0-x64.msi", "app"])
def test_a_fifo_named_like_an_output_is_refused_without_being_read(
    name: str, tmp_path: Path
) -> None:
    fifo = tmp_path / name
    os.mkfifo(fifo)
    with pytest.raises(UnreadableInputError, match="not a file or folder"):
        verify_bundle(str(fifo), environ=dict(os.environ))
