"""Atomic output through the CLI: refusal to overwrite, interruption, unwritable directories."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from packager.bundle import BundleFormat
from packager.core.atomic import OWNER_FILE, STAGING_PREFIX, current_owner
from packager.core.errors import OutputExistsError
from tests.helpers import REPO
from tests.integration.bundle_helpers import bundle_environ, bundle_tree
from tests.integration.cbuild import DEBIAN_PIC_ARCHIVE, static_embed
from tests.schemas import validate


def cli_environ() -> dict[str, str]:
    """The environment the CLI runs in: this checkout, unbuffered output not forced."""
    environ = {**bundle_environ(), "PYTHONPATH": str(REPO)}
    environ.pop("PYTHONUNBUFFERED", None)
    return environ


def packager(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "packager", *args],
        cwd=cwd or REPO,
        env=cli_environ(),
        capture_output=True,
        text=True,
        check=False,
    )


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs, as /proc lists them now."""
    found: list[int] = []
    pending = [pid]
    while pending:
        for task in Path(f"/proc/{pending.pop()}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            pending += children
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every process it started, as a stopped container would.

    The tools run in sessions of their own, where a process group would miss them.
    """
    stopped: set[int] = set()
    while new := {pid, *descendants(pid)} - stopped:
        for process in new:  # stopped, they start no more processes
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGSTOP)
        stopped |= new
    for process in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process, signal.SIGKILL)


def staging_dirs(out: Path) -> list[Path]:
    return sorted(path for path in out.iterdir() if path.name.startswith(STAGING_PREFIX))


def test_existing_output_is_refused_without_force(hello_binary: Path, tmp_path: Path) -> None:
    (tmp_path / "pkgtest-hello.tar.gz").write_text("a user's file")
    result = packager("bundle", str(hello_binary), "--format", "tar.gz", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "pkgtest-hello.tar.gz: already exists" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "pkgtest-hello.tar.gz").read_text() == "a user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkgtest-hello.tar.gz"]


def test_force_replaces_and_json_reports_the_outputs(hello_binary: Path, tmp_path: Path) -> None:
    (tmp_path / "pkgtest-hello").mkdir()
    (tmp_path / "pkgtest-hello" / "stale").write_text("old")
    result = packager(
        "bundle",
        str(hello_binary),
        "--format",
        "dir,zip",
        "--out",
        str(tmp_path),
        "--force",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    validate(document, "bundle-v1.json")
    formats = [output["format"] for output in document["bundle"]["outputs"]]
    assert formats == ["dir", "zip", None, None, None]  # an SBOM beside each, SHA256SUMS
    assert not (tmp_path / "pkgtest-hello" / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "SHA256SUMS",
        "pkgtest-hello",
        "pkgtest-hello.cdx.json",
        "pkgtest-hello.zip",
        "pkgtest-hello.zip.cdx.json",
    ]
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True)
    assert sums.returncode == 0


def test_an_exception_mid_way_leaves_nothing(hello_binary: Path, tmp_path: Path) -> None:
    def fail_mid_way(message: str) -> None:
        if message.startswith("laying out libpython"):  # the binary is in the staging tree
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bundle_tree(
            str(hello_binary),
            str(tmp_path),
            environ=bundle_environ(),
            formats=(BundleFormat.DIR, BundleFormat.TAR_GZ),
            progress=fail_mid_way,
        )
    assert list(tmp_path.iterdir()) == []


def wait_for_compiled_file(top: Path, process: subprocess.Popen[str]) -> None:
    """Return once a .pyc exists under `top`: compileall and its workers are writing."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(name.endswith(".pyc") for _, _, names in os.walk(top) for name in names):
            return
        time.sleep(0.01)
    raise AssertionError(f"no .pyc appeared under {top} (exit code {process.poll()})")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_way_leaves_nothing(
    hello_binary: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    # The cache cannot be created (its parent is a file), so the runtime is prepared
    # inside the staging directory, and the signal arrives while compileall's worker
    # processes write into it: they must be gone before the staging directory is removed.
    (tmp_path / "not-a-dir").write_text("")
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "packager", "bundle", str(hello_binary), "--out", str(out)],
        cwd=REPO,
        env={
            **bundle_environ(),
            "PYTHONPATH": str(REPO),
            "XDG_CACHE_HOME": str(tmp_path / "not-a-dir"),
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_compiled_file(out, process)
    assert any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir())
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert list(out.iterdir()) == []


def test_a_signal_while_the_cache_is_filled_leaves_no_partial_entry(
    hello_binary: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-m", "packager", "bundle", str(hello_binary), "--out", str(out)],
        cwd=REPO,
        env={**bundle_environ(), "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(cache)},
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_compiled_file(cache, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert list(out.iterdir()) == []
    assert list((cache / "packager" / "runtime").iterdir()) == []


def test_missing_output_directory_is_created(hello_binary: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "dist"
    result = packager("bundle", str(hello_binary), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / hello_binary.name / hello_binary.name).is_file()


def test_output_path_that_cannot_be_a_directory_is_a_clear_error(
    hello_binary: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    for out, wording in (
        (blocker, "exists and is not a directory"),
        (blocker / "dist", "cannot create the output directory"),
    ):
        result = packager("bundle", str(hello_binary), "--out", str(out))
        assert result.returncode == 2, result.stderr
        assert wording in result.stderr and str(out) in result.stderr
        assert "Traceback" not in result.stderr
    assert blocker.read_text() == "not a directory\n"


def test_read_only_output_directory_is_a_clear_error(hello_binary: Path, tmp_path: Path) -> None:
    # Root ignores permission bits, so the directory is made read-only by a mount.
    out = tmp_path / "ro"
    out.mkdir()
    result = subprocess.run(
        [
            "bwrap",
            "--bind",
            "/",
            "/",
            "--ro-bind",
            str(out),
            str(out),
            "--dev",
            "/dev",
            sys.executable,
            "-m",
            "packager",
            "bundle",
            str(hello_binary),
            "--out",
            str(out),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot write to the output directory" in result.stderr
    assert "Read-only file system" in result.stderr


def test_library_refuses_overwrite_with_a_typed_error(hello_binary: Path, tmp_path: Path) -> None:
    (tmp_path / f"{hello_binary.name}.zip").write_text("mine")
    with pytest.raises(OutputExistsError) as caught:
        bundle_tree(
            str(hello_binary),
            str(tmp_path),
            environ=bundle_environ(),
            formats=(BundleFormat.ZIP,),
        )
    assert caught.value.path == str(tmp_path / f"{hello_binary.name}.zip")


def test_a_killed_run_leaves_staging_that_the_next_run_removes(
    hello_binary: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # A live run's staging directory, made by the real code in another process.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from packager.core.atomic import Staging; "
            "print(Staging(sys.argv[1]).path, flush=True); sys.stdin.read()",
            str(out),
        ],
        env=cli_environ(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    live = Path(holder.stdout.readline().strip())
    try:
        (tmp_path / "not-a-dir").write_text("")
        process = subprocess.Popen(
            [sys.executable, "-m", "packager", "bundle", str(hello_binary), "--out", str(out)],
            cwd=REPO,
            env={**cli_environ(), "XDG_CACHE_HOME": str(tmp_path / "not-a-dir")},
            stderr=subprocess.DEVNULL,
        )
        wait_for_compiled_file(out, process)
        kill_tree(process.pid)
        process.wait()
        killed = [path for path in staging_dirs(out) if path != live]
        assert len(killed) == 1 and (killed[0] / OWNER_FILE).exists()
        # A record whose pid now names another process (the holder): stale.
        reused = out / f"{STAGING_PREFIX}reused"
        reused.mkdir()
        record = dataclasses.replace(current_owner(), pid=holder.pid, start_time="1")
        (reused / OWNER_FILE).write_text(record.render())
        # No record, as an older packager left it: it cannot be judged, so it stays.
        (out / f"{STAGING_PREFIX}legacy").mkdir()

        result = packager("bundle", str(hello_binary), "--out", str(out))

        assert result.returncode == 0, result.stderr
        assert staging_dirs(out) == sorted([live, out / f"{STAGING_PREFIX}legacy"])
        assert (out / "pkgtest-hello" / "pkgtest-hello").exists()
    finally:
        holder.stdin.close()
        holder.wait()


# Runs "$@" with a fresh tmpfs mounted (options $1) on $2, then lists $2 into $3.
_ON_TMPFS = """
mount -t tmpfs -o "$1" tmpfs "$2" || exit 99
out=$2
listing=$3
shift 3
"$@"
status=$?
ls -A "$out" >"$listing"
exit $status
"""


def packager_on_tmpfs(
    options: str, out: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the CLI with a tmpfs (e.g. "size=4m", "ro") on `out`; (result, what out holds)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare is not installed (Debian: apt-get install util-linux)")
    # As root a private mount namespace is enough; otherwise map the user to root in one.
    namespace = [unshare, "-m"] if os.geteuid() == 0 else [unshare, "-r", "-m"]
    listing = out.parent / "listing"
    out.mkdir()
    wrapper = [*namespace, "sh", "-c", _ON_TMPFS, "sh", options, str(out), str(listing)]
    completed = subprocess.run(
        [*wrapper, sys.executable, "-m", "packager", *args, "--out", str(out)],
        cwd=REPO,
        env=cli_environ(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode != 99, f"cannot mount a tmpfs: {completed.stderr}"
    return completed, listing.read_text().splitlines()


def assert_one_line_error(result: subprocess.CompletedProcess[str], said: str) -> str:
    """The error line of a failed run: exit code 2, `said` in it, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("packager: error:")]
    assert len(errors) == 1, result.stderr
    assert said in errors[0], result.stderr
    return errors[0]


DEBIAN_PYTHON = ("--python", "/usr/bin/python3.11")


@pytest.fixture(scope="module")
def static_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A program with the whole static libpython in it (8 MB): more than a 4 MB disk holds."""
    if not os.path.exists(DEBIAN_PIC_ARCHIVE):
        pytest.fail("Debian's static libpython3.11-pic.a is not installed (python3.11-dev)")
    return static_embed(tmp_path_factory.mktemp("static") / "embed", export_dynamic=True)


@pytest.mark.parametrize("fmt", ["dir", "dir,tar.gz"])
def test_a_full_file_system_is_a_clear_error_and_leaves_nothing(
    hello_binary: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "full"
    result, left = packager_on_tmpfs("size=4m", out, "bundle", str(hello_binary), "--format", fmt)
    line = assert_one_line_error(result, "no space left on device")
    assert f"{out}: " in line
    assert "--out" in result.stderr  # the fix
    assert left == []


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ("size=4m", "no space left on device"),
        ("ro", "cannot write to the output directory (Read-only file system)"),
    ],
    ids=["full", "read-only"],
)
def test_onefile_into_an_unwritable_directory_is_a_clear_error(
    static_program: Path, tmp_path: Path, options: str, said: str
) -> None:
    out = tmp_path / "out"
    program = str(static_program)
    result, left = packager_on_tmpfs(options, out, "bundle", program, "--onefile", *DEBIAN_PYTHON)
    assert_one_line_error(result, said)
    assert left == []


def test_repeated_format_options_add_up(hello_binary: Path, tmp_path: Path) -> None:
    result = packager(
        "bundle", str(hello_binary), "--format", "tar.gz", "--format", "zip,dir",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    name = hello_binary.name
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["SHA256SUMS", name, f"{name}.tar.gz", f"{name}.zip"]
        + [f"{output}.cdx.json" for output in (name, f"{name}.tar.gz", f"{name}.zip")]
    )
