"""Run a GUI bundle on a virtual screen in the verify sandbox, find its window, photograph it.

Xvfb serves a private display (it picks a free number itself, `-displayfd`); only its
socket is made visible in the sandbox (bubblewrap's own network namespace keeps the
abstract socket out of reach), with DISPLAY set. The program is placed and run as
`verify` runs it (verify.py), in the background; its window is looked for through the X
server by its title (`xdotool search --name`, polled until a bounded wait ends or the
program exits). A screenshot is the whole screen, taken once two dumps in a row
(`xwd -root`) are the same, so a window still drawing itself is not photographed half
done; ImageMagick turns the dump into a PNG. Then the program is ended.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from packager.core import runner
from packager.core.errors import ToolError, UsageError, WindowNotShownError
from packager.verify.model import VerifyResult
from packager.verify.sandbox import SANDBOX_AREA, launch_environ, prepare_sandbox

SCREEN = "1024x768x24"
_POLL_SECONDS = 0.25
_START_SECONDS = 30  # for Xvfb to report its display
_TOOLS = (
    ("Xvfb", "install Xvfb (Debian: apt-get install xvfb)"),
    ("xdotool", "install xdotool (Debian: apt-get install xdotool)"),
    ("xwd", "install xwd (Debian: apt-get install x11-apps)"),
    ("convert", "install ImageMagick (Debian: apt-get install imagemagick)"),
)
# Characters special in the POSIX extended regular expressions xdotool matches names with.
_REGEX_SPECIAL = re.compile(r"([.\[\]()*+?{}|^$\\])")


@dataclass(frozen=True)
class GuiTools:
    """The X programs a GUI verification runs, resolved on PATH."""

    xvfb: str
    xdotool: str
    xwd: str
    convert: str


@dataclass(frozen=True)
class GuiResult:
    """How a GUI program behaved on the virtual screen."""

    subject: str
    root: str  # the system the sandbox showed
    command: tuple[str, ...]  # the command run inside the sandbox
    window_title: str | None  # what the window was looked for by (None: any window)
    window_name: str  # the title of the window found, when the screenshot was taken
    screenshot: str | None  # the PNG written
    hidden: tuple[str, ...] = ()  # the paths the sandbox hid


@dataclass(frozen=True)
class GuiSession:
    """A program running on a virtual screen, its window shown."""

    display: str  # ":N", for X clients on this host
    window: str  # the window's id, as xdotool prints it
    command: tuple[str, ...]  # what runs in the sandbox
    hidden: tuple[str, ...]  # the paths the sandbox hides
    tools: GuiTools
    environ: Mapping[str, str]
    echo: runner.Echo | None = None

    @property
    def x_environ(self) -> dict[str, str]:
        """The environment for X clients of this host that talk to the virtual screen."""
        return {**self.environ, "DISPLAY": self.display}

    def window_name(self) -> str:
        """The window's current title, read from the X server."""
        result = runner.run(
            [self.tools.xdotool, "getwindowname", self.window],
            environ=self.x_environ,
            echo=self.echo,
        )
        return result.stdout.rstrip("\n")

    def screenshot(self, path: str, *, wait: float = 30) -> None:
        """Write the whole screen to `path` (PNG) once it has stopped changing, or once
        `wait` seconds have passed."""
        with tempfile.TemporaryDirectory(prefix="packager-screen-") as scratch:
            dumps = [os.path.join(scratch, "a.xwd"), os.path.join(scratch, "b.xwd")]
            deadline = time.monotonic() + wait
            previous: bytes | None = None
            turn = 0
            while True:
                dump = dumps[turn % 2]
                turn += 1
                runner.run(
                    [self.tools.xwd, "-root", "-silent", "-out", dump],
                    environ=self.x_environ,
                    echo=self.echo,
                )
                with open(dump, "rb") as handle:
                    current = handle.read()
                if current == previous or time.monotonic() > deadline:
                    break
                previous = current
                time.sleep(_POLL_SECONDS)
            partial = os.path.join(scratch, "screen.png")
            runner.run(
                [self.tools.convert, f"xwd:{dump}", f"png:{partial}"],
                environ=self.x_environ,
                echo=self.echo,
            )
            # Copied beside `path`, then renamed: the PNG appears whole or not at all.
            beside = f"{path}.partial"
            try:
                shutil.copyfile(partial, beside)
                os.replace(beside, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(beside)


def gui_tools(environ: Mapping[str, str]) -> GuiTools:
    """The X programs, each resolved on PATH; a ToolError names the first one missing."""
    found = [runner.require(program, environ, fix=fix) for program, fix in _TOOLS]
    return GuiTools(*found)


def name_pattern(title: str | None) -> str:
    """The regular expression xdotool finds a window by: `title` as a literal substring,
    or any window with a name."""
    return "." if title is None else _REGEX_SPECIAL.sub(r"\\\1", title)


@contextlib.contextmanager
def virtual_display(
    tools: GuiTools, environ: Mapping[str, str], echo: runner.Echo | None, log: str
) -> Iterator[str]:
    """Start Xvfb on a free display; yield its name (":N"); stop it at the end. Its
    output goes to the file `log`."""
    read_end, write_end = os.pipe()
    with open(log, "wb") as output:
        try:
            xvfb = runner.start(
                [tools.xvfb, "-displayfd", str(write_end), "-screen", "0", SCREEN,
                 "-nolisten", "tcp"],
                environ=environ, output=output, echo=echo, pass_fds=(write_end,),
            )  # fmt: skip
        finally:
            os.close(write_end)
        try:
            number = _read_display(read_end, xvfb, log)
            yield f":{number}"
        finally:
            os.close(read_end)
            runner.stop(xvfb)


def _read_display(fd: int, xvfb: subprocess.Popen[bytes], log: str) -> int:
    """The display number Xvfb writes to `fd` once it listens."""
    text = b""
    deadline = time.monotonic() + _START_SECONDS
    while not text.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], _POLL_SECONDS)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                break  # Xvfb closed it: exited
            text += chunk
    if text.strip().isdigit():
        return int(text)
    runner.stop(xvfb)  # so that its log is complete
    raise ToolError(
        f"Xvfb did not start a display; its output:{_tail(log)}",
        fix="run `Xvfb -displayfd 1` to see why (a full /tmp, no free display)",
    )


@contextlib.contextmanager
def gui_session(
    subject: str,
    args: tuple[str, ...] = (),
    *,
    environ: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    window_title: str | None = None,
    wait: float = 60,
    cwd: str | None = None,
    root: str = "/",
    echo: runner.Echo | None = None,
) -> Iterator[GuiSession]:
    """Run `subject` as `verify_bundle` does, but on a virtual screen and in the
    background; yield once its window (titled `window_title`, None: any) is shown, within
    `wait` seconds; end the program and the screen at the end."""
    tools = gui_tools(environ)
    work = tempfile.mkdtemp(prefix="packager-verify-gui-")
    try:
        with virtual_display(tools, environ, echo, os.path.join(work, "xvfb.log")) as display:
            socket = f"/tmp/.X11-unix/X{display.removeprefix(':')}"
            sandbox = prepare_sandbox(
                subject, work, environ=environ, cwd=cwd, root=root, echo=echo,
                extra_env={**(extra_env or {}), "DISPLAY": display}, binds=(socket,),
            )  # fmt: skip
            log = os.path.join(work, "program.log")
            with open(log, "wb") as output:
                program = runner.start(
                    [*sandbox.argv, *args],
                    environ=launch_environ(environ),
                    output=output,
                    echo=echo,
                )
                command = (*sandbox.command, *args)
                try:
                    x_environ = {**environ, "DISPLAY": display}
                    window = _wait_for_window(tools, x_environ, program, window_title, wait, log)
                except WindowNotShownError as exc:
                    raise WindowNotShownError(
                        exc.message, fix=exc.fix, command=command, hidden=sandbox.hidden
                    ) from None
                else:
                    yield GuiSession(display, window, command, sandbox.hidden, tools, environ, echo)
                finally:
                    runner.stop(program)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _wait_for_window(
    tools: GuiTools,
    x_environ: Mapping[str, str],
    program: subprocess.Popen[bytes],
    title: str | None,
    wait: float,
    log: str,
) -> str:
    """The id of the first visible window whose name matches `title`; raise when the
    program exits first or `wait` seconds pass."""
    argv = [tools.xdotool, "search", "--onlyvisible", "--name", name_pattern(title)]
    deadline = time.monotonic() + wait
    while True:
        found = runner.run(argv, environ=x_environ, check=False)
        windows = found.stdout.split()
        if found.returncode == 0 and windows:
            return windows[0]
        status = program.poll()
        looked_for = f"a window titled {title!r}" if title else "a window"
        if status is not None:
            raise WindowNotShownError(
                f"the program exited with status {status} before showing {looked_for}; its "
                f"output ends:{_tail(log)}",
                fix="run it outside the sandbox to see why, or check --window-title",
            )
        if time.monotonic() > deadline:
            raise WindowNotShownError(
                f"no {looked_for.removeprefix('a ')} appeared within {wait:g} s; the "
                f"program's output ends:{_tail(log)}",
                fix="check --window-title (a part of the title is enough), or allow more "
                "time with --timeout",
            )
        time.sleep(_POLL_SECONDS)


def verify_gui(
    subject: str,
    args: tuple[str, ...] = (),
    *,
    screenshot: str | None,
    environ: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    window_title: str | None = None,
    wait: float = 60,
    cwd: str | None = None,
    root: str = "/",
    echo: runner.Echo | None = None,
) -> GuiResult:
    """Run `subject` on a virtual screen until its window shows, photograph the screen
    to `screenshot` (a new PNG file) and end the program."""
    if screenshot is not None:
        _check_screenshot_path(screenshot)
    with gui_session(
        subject, args, environ=environ, extra_env=extra_env, window_title=window_title,
        wait=wait, cwd=cwd, root=root, echo=echo,
    ) as session:  # fmt: skip
        if screenshot is not None:
            session.screenshot(screenshot)
        name = session.window_name()
    return GuiResult(
        subject,
        os.path.abspath(root),
        session.command,
        window_title,
        name,
        screenshot,
        session.hidden,
    )


def verify_window(
    subject: str,
    *,
    environ: Mapping[str, str],
    root: str = "/",
    echo: runner.Echo | None = None,
) -> VerifyResult:
    """`bundle --verify` for a GUI app: whether `subject` shows a window on a virtual
    screen, as a VerifyResult (status 0 and the window's title, or 1 and why not)."""
    try:
        shown = verify_gui(subject, screenshot=None, environ=environ, root=root, echo=echo)
    except WindowNotShownError as exc:
        return VerifyResult(
            subject, exc.command, SANDBOX_AREA, exc.hidden, 1, "", f"{exc}\n",
            root=os.path.abspath(root),
        )  # fmt: skip
    return VerifyResult(
        subject,
        shown.command,
        SANDBOX_AREA,
        shown.hidden,
        0,
        f"window shown: {shown.window_name}\n",
        "",
        root=shown.root,
    )


def _check_screenshot_path(path: str) -> None:
    if not path.lower().endswith(".png"):
        raise UsageError("--screenshot must name a .png file", path=path, fix="e.g. shot.png")
    if os.path.lexists(path):
        raise UsageError(
            "the screenshot file exists already", path=path, fix="remove it or name a new file"
        )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(
            "the screenshot's folder does not exist", path=path, fix=f"create {parent} first"
        )


def _tail(path: str, lines: int = 12) -> str:
    """The last `lines` lines of the file at `path`, indented under the message."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read().strip().splitlines()
    except OSError:
        return " (no output)"
    return "".join(f"\n    {line.rstrip()}" for line in text[-lines:]) or " (no output)"
