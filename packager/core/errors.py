"""Every error packager raises, each with the exit code the CLI turns it into.

Exit codes are stable for CI: 0 clean, 1 findings at or above the chosen severity,
2 usage error or unreadable input, 3 an external tool (cargo, linker) failed.
"""

from __future__ import annotations

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_TOOL = 3


class PackagerError(Exception):
    """Base class: a message for the user, naming the file and the next step."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, path: str | None = None, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.fix = fix

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        text += "".join(f"\n  | {line}" for line in self.details())
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    def details(self) -> list[str]:
        """Lines shown between the message and the fix (a failed tool's last words)."""
        return []


class UsageError(PackagerError):
    """The command line or a configuration value is wrong."""


class UnreadableInputError(PackagerError):
    """A file cannot be read or is not a well-formed binary."""


class NotABinaryError(UnreadableInputError):
    """The file is readable but is not an ELF, Mach-O or PE binary."""


class InterpreterError(PackagerError):
    """A Python interpreter is missing, cannot be probed, or cannot be embedded."""


# How many of a failed tool's last output lines an error shows.
_TOOL_OUTPUT_LINES = 12


class ToolError(PackagerError):
    """An external tool (cargo, a linker, pip) is missing or failed."""

    exit_code = EXIT_TOOL

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        fix: str | None = None,
        output: str = "",
        returncode: int | None = None,
    ) -> None:
        super().__init__(message, path=path, fix=fix)
        self.output = output
        self.returncode = returncode

    def details(self) -> list[str]:
        """The last lines the tool printed, which usually say why it failed."""
        lines = [line.rstrip() for line in self.output.splitlines() if line.strip()]
        return lines[-_TOOL_OUTPUT_LINES:]


class OutputExistsError(PackagerError):
    """An output would overwrite something that is already there."""


class SearchPathError(UsageError):
    """A path would enter a search path (LD_LIBRARY_PATH, PATH) split at ':' or ';'."""


class OutputWriteError(PackagerError):
    """Writing an output failed: no space left, quota exceeded, read-only or denied."""


class OutputDirError(PackagerError):
    """The output directory is missing, not a directory, or not writable."""


class FloorError(PackagerError):
    """A file of a bundle would not run on the glibc floor asked for; nothing was written."""

    exit_code = EXIT_FINDINGS


class SignatureError(PackagerError):
    """A signature is missing or bad, or a file does not match the signed SHA256SUMS."""

    exit_code = EXIT_FINDINGS


class ContentsError(PackagerError):
    """A bundle's files are not the ones its SBOM lists: changed, missing or added."""

    exit_code = EXIT_FINDINGS


class RuntimeBuildError(ToolError):
    """A step of building a portable CPython runtime failed; its log is kept."""


class WindowNotShownError(PackagerError):
    """A GUI program verified on a virtual screen exited, or never showed its window."""

    exit_code = EXIT_FINDINGS

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        command: tuple[str, ...] = (),
        hidden: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, fix=fix)
        self.command = command  # what ran in the sandbox
        self.hidden = hidden  # the paths the sandbox hid
