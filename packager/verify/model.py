"""What running a bundle, archive or installer in a sandbox showed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VerifyResult:
    """How a bundle behaved when run in the sandbox."""

    subject: str  # what was verified (directory, archive or installer)
    command: tuple[str, ...]  # the command run inside the sandbox
    sandbox_path: str  # where the bundle sat inside the sandbox
    hidden: tuple[str, ...]  # paths hidden from the program
    returncode: int
    stdout: str
    stderr: str
    root: str = "/"  # the system the sandbox showed: this host's, or a Debian root
    notes: tuple[str, ...] = ()  # what the run added to make the system a real one's

    @property
    def ok(self) -> bool:
        """Whether the program exited with status 0."""
        return self.returncode == 0
