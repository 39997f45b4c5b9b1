"""--app-dir must be a plain tree of readable files and directories, checked up front."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from packager.bundle.appdir import check_app_dir
from packager.core.errors import EXIT_USAGE, UsageError


def app_tree(root: Path) -> Path:
    """A tree a user would ship: files, a subdirectory, symlinks to a file and a directory."""
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "main.py").write_text("print('hi')\n")
    (root / "pkg" / "sub" / "data.txt").write_text("data\n")
    outside = root.parent / "shared.txt"
    outside.write_text("shared\n")
    (root / "shared.txt").symlink_to(outside)
    (root / "pkg-link").symlink_to("pkg")
    return root


def test_a_plain_tree_with_symlinks_to_files_and_directories_passes(tmp_path: Path) -> None:
    check_app_dir(str(app_tree(tmp_path / "app")))


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


def _device_link(path: Path) -> None:
    path.symlink_to("/dev/null")


def _dangling(path: Path) -> None:
    path.symlink_to("gone")


def _loop(path: Path) -> None:
    path.symlink_to(path.name + "-other")
    path.with_name(path.name + "-other").symlink_to(path.name)


def _parent_link(path: Path) -> None:
    path.symlink_to("..")


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (_fifo, "holds a FIFO (named pipe)"),
        (_socket, "holds a socket"),
        (_device_link, "holds a character device"),
        (_dangling, "is a symlink to nothing (-> gone)"),
        (_loop, "is a loop of symlinks"),
        (_parent_link, "symlink to one of its own parent directories"),
    ],
    ids=["fifo", "socket", "device", "dangling", "loop", "parent"],
)
def test_entries_a_copy_cannot_ship_are_refused_with_their_path(
    tmp_path: Path, make: Callable[[Path], None], said: str
) -> None:
    app = app_tree(tmp_path / "app")
    odd = app / "pkg" / "sub" / "odd"
    make(odd)
    with pytest.raises(UsageError) as raised:
        check_app_dir(str(app))
    assert said in raised.value.message
    assert raised.value.message.startswith("--app-dir ")
    assert raised.value.path is not None and raised.value.path.startswith(str(app / "pkg"))
    assert raised.value.fix
    assert raised.value.exit_code == EXIT_USAGE
    assert "\n" not in raised.value.message


def test_proc_self_fd_is_refused() -> None:
    # Symlinks to terminals, pipes and the directory being listed: the copy used to fail
    # half-way with an internal error.
    with pytest.raises(UsageError) as raised:
        check_app_dir("/proc/self/fd")
    assert raised.value.path is not None and raised.value.path.startswith("/proc/self/fd/")


@pytest.mark.parametrize("option", ["--app-dir", "--site"])
def test_a_file_or_a_missing_path_is_refused_naming_the_option(tmp_path: Path, option: str) -> None:
    (tmp_path / "file").write_text("")
    for path, said in [("file", "is not a directory"), ("missing", "does not exist")]:
        with pytest.raises(UsageError) as raised:
            check_app_dir(str(tmp_path / path), option=option)
        assert raised.value.message == f"{option} {said}"
        assert raised.value.path == str(tmp_path / path)
