"""Unpack what verify is given into its sandbox area, as safely as the archives packager
reads elsewhere (core.safe_extract): nothing but files, folders and links inside the
area, and never more bytes than `unpacked_limit` allows for the subject's size.

A tool that decompresses (zstd, dpkg-deb, rpm2archive) writes into a file here, capped
at that limit, so a small .tar.zst or .deb that inflates to gigabytes is refused before
it fills the disk; of a package, only the /opt part is unpacked (its /usr/bin command is
an absolute symlink, which the safe extraction refuses).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import stat
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Mapping, Sequence

from packager.core import runner
from packager.core.errors import ToolError, UnreadableInputError
from packager.core.safe_extract import TOO_BIG, extract_tar, refusal, unpacked_limit


def copy_folder(subject: str, destination: str) -> None:
    """Copy the folder bundle `subject` to `destination`, links as links; refuses a
    FIFO, socket or device in it unread (a copy would block on one, or fail)."""
    for top, folders, files in os.walk(subject):
        for name in [*folders, *files]:
            mode = os.lstat(os.path.join(top, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                raise UnreadableInputError(
                    "the bundle holds something that is not a file, folder or link (a "
                    "FIFO, socket or device is never read)",
                    path=os.path.join(top, name),
                    fix="remove it from the folder, or verify what `packager bundle` wrote",
                )
    shutil.copytree(subject, destination, symlinks=True)


def unpack_tar_zst(
    subject: str, area: str, scratch: str, environ: Mapping[str, str], echo: runner.Echo | None
) -> None:
    """Extract the .tar.zst `subject` into `area`, decompressing into `scratch`."""
    zstd = runner.require("zstd", environ, fix="install zstd (Debian: apt-get install zstd)")
    plain = os.path.join(scratch, "payload.tar")
    limit = unpacked_limit(os.stat(subject).st_size)
    _tool_output_to([zstd, "-q", "-d", "-c", subject], plain, limit, environ, echo, subject)
    with _named(subject):
        extract_tar(plain, area, limit=limit)


def unpack_deb_opt(
    subject: str, root: str, scratch: str, environ: Mapping[str, str], echo: runner.Echo | None
) -> None:
    """Extract the /opt part of the .deb `subject` into `root`, working in `scratch`."""
    dpkg_deb = runner.require("dpkg-deb", environ, fix="install dpkg (apt-get install dpkg)")
    data = os.path.join(scratch, "data.tar")
    limit = unpacked_limit(os.stat(subject).st_size)
    _tool_output_to([dpkg_deb, "--fsys-tarfile", subject], data, limit, environ, echo, subject)
    _extract_opt(data, root, os.path.join(scratch, "opt.tar"), (limit, subject))


def unpack_rpm_opt(
    subject: str, root: str, scratch: str, environ: Mapping[str, str], echo: runner.Echo | None
) -> None:
    """Extract the /opt part of the .rpm `subject` into `root`, working in `scratch`:
    rpm2archive makes a tar of the payload."""
    rpm2archive = runner.require("rpm2archive", environ, fix="install rpm (apt-get install rpm)")
    package = os.path.join(scratch, "package.rpm")
    shutil.copyfile(subject, package)
    runner.run([rpm2archive, package], environ=environ, echo=echo)
    limit = unpacked_limit(os.stat(subject).st_size)
    _extract_opt(package + ".tgz", root, os.path.join(scratch, "opt.tar"), (limit, subject))


def _extract_opt(payload: str, root: str, opt_only: str, limited: tuple[int, str]) -> None:
    """Extract the members under opt/ of the tar `payload` into `root` (through the tar
    `opt_only`), refusing more than `limited`'s bytes (the limit, the subject named)."""
    limit, subject = limited
    left = limit
    with _named(subject):
        with tarfile.open(payload) as members, tarfile.open(opt_only, "w") as kept:
            for member in members:
                member.name = member.name.removeprefix("./")
                if not member.name.startswith("opt/") or member.name.rstrip("/") == "opt":
                    continue
                left -= member.size if member.isfile() else 0
                if left < 0:
                    raise refusal(subject, TOO_BIG)
                kept.addfile(member, members.extractfile(member) if member.isfile() else None)
        os.makedirs(os.path.join(root, "opt"))  # /opt itself is left out: it may repeat
        extract_tar(opt_only, root, limit=limit)


@contextlib.contextmanager
def _named(subject: str) -> Iterator[None]:
    """Name `subject` in a refusal to extract the file packager made of it."""
    try:
        yield
    except UnreadableInputError as exc:
        raise UnreadableInputError(exc.message, path=subject, fix=exc.fix) from None
    except (tarfile.TarError, EOFError, zlib.error) as exc:  # EOFError: a cut-off gzip
        raise UnreadableInputError(f"cannot extract: {exc}", path=subject) from exc


def _tool_output_to(
    argv: Sequence[str],
    path: str,
    limit: int,
    environ: Mapping[str, str],
    echo: runner.Echo | None,
    subject: str,
) -> None:
    """Write what `argv` prints into the new file `path`; a tool that prints more than
    `limit` bytes is stopped and `subject` refused, one that fails raises ToolError."""
    if echo is not None:
        echo(f"+ {shlex.join(argv)} > {shlex.quote(path)}")
    with open(path, "xb") as output, tempfile.TemporaryFile() as errors:
        process = runner.spawn(argv, environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=errors)  # fmt: skip
        assert process.stdout is not None
        try:
            while chunk := process.stdout.read(1 << 20):
                limit -= len(chunk)
                if limit < 0:
                    raise refusal(subject, TOO_BIG)
                output.write(chunk)
            process.wait()
        finally:
            process.stdout.close()
            runner.kill_group(process)
        if process.returncode != 0:
            errors.seek(0)
            raise ToolError(
                f"'{shlex.join(argv)}' failed with exit code {process.returncode}",
                output=errors.read().decode("utf-8", errors="replace"),
                returncode=process.returncode,
            )
