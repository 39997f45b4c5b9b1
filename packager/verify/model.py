"""What running a bundle, archive or installer in a sandbox showed."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Check(enum.Enum):
    """What a run waits for, and passes on."""

    EXIT_STATUS = "exit_status"  # the program exits, with status 0
    PORT = "port"  # something in the sandbox listens on a TCP port (--expect-port)
    OUTPUT = "output"  # a line of the program's output matches (--expect-output)


class Outcome(enum.Enum):
    """How a run ended."""

    EXITED = "exited"  # the program exited by itself
    READY = "ready"  # the port listened or the output matched; then it was stopped
    TIMED_OUT = "timed_out"  # nothing of that within the timeout; the sandbox was stopped


@dataclass(frozen=True)
class Expectation:
    """What makes a run pass: its exit status (the default), a port, or a line of output."""

    check: Check = Check.EXIT_STATUS
    port: int | None = None  # Check.PORT: the TCP port, 1 to 65535
    pattern: str | None = None  # Check.OUTPUT: a Python regular expression (re.search)

    def awaited(self) -> str:
        """What the run waits for, as the end of a sentence ("listening on TCP port 80")."""
        if self.check is Check.PORT:
            return f"listening on TCP port {self.port}"
        if self.check is Check.OUTPUT:
            return f"printing a line matching {self.pattern!r}"
        return "exiting"


BY_EXIT_STATUS = Expectation()  # a run that passes when the program exits with status 0


@dataclass(frozen=True)
class VerifyResult:
    """How a bundle behaved when run in the sandbox."""

    subject: str  # what was verified (directory, archive or installer)
    command: tuple[str, ...]  # the command run inside the sandbox
    sandbox_path: str  # where the bundle sat inside the sandbox
    hidden: tuple[str, ...]  # paths hidden from the program
    returncode: int  # its exit status; for a stopped run, that of the stopped sandbox
    stdout: str
    stderr: str
    root: str = "/"  # the system the sandbox showed: this host's, or a Debian root
    notes: tuple[str, ...] = ()  # what the run added to make the system a real one's
    expectation: Expectation = BY_EXIT_STATUS  # what the run waited for
    outcome: Outcome = Outcome.EXITED
    timeout: float | None = None  # the seconds it was given, when it could time out

    @property
    def ok(self) -> bool:
        """Whether the check passed: the program exited with status 0, or (--expect-port,
        --expect-output) became ready within the timeout."""
        if self.expectation.check is Check.EXIT_STATUS:
            return self.outcome is Outcome.EXITED and self.returncode == 0
        return self.outcome is Outcome.READY

    @property
    def verdict(self) -> str:
        """What happened, in a few words ("exited with status 0", "did not finish within
        5 s; stopped")."""
        expectation = self.expectation
        within = "in the time given" if self.timeout is None else f"within {self.timeout:g} s"
        if self.outcome is Outcome.READY and expectation.check is Check.PORT:
            return f"TCP port {expectation.port} listened; then stopped"
        if self.outcome is Outcome.READY:
            return f"printed a line matching {expectation.pattern!r}"
        if self.outcome is Outcome.TIMED_OUT and expectation.check is Check.PORT:
            return f"nothing listened on TCP port {expectation.port} {within}"
        if self.outcome is Outcome.TIMED_OUT and expectation.check is Check.OUTPUT:
            return f"printed no line matching {expectation.pattern!r} {within}"
        if self.outcome is Outcome.TIMED_OUT:
            return f"did not finish {within}; stopped"
        if expectation.check is Check.EXIT_STATUS:
            return f"exited with status {self.returncode}"
        return f"exited with status {self.returncode} before {expectation.awaited()}"
