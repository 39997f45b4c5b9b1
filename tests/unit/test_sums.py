"""OUT/SHA256SUMS, shared by the runs into one output directory: merged, whole, locked."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import subprocess
import threading
from pathlib import Path

import pytest

from packager.outputs import sums
from packager.outputs.sums import LOCK_NAME, SUMS_NAME, locked, merge_sums, merged_text

A, B, C = (hashlib.sha256(text).hexdigest() for text in (b"a", b"b", b"c"))


def test_a_new_file_lists_the_names_sorted_and_sha256sum_checks_it(tmp_path: Path) -> None:
    (tmp_path / "b.bin").write_bytes(b"b")
    (tmp_path / "a.bin").write_bytes(b"a")
    path = merge_sums(str(tmp_path), {"b.bin": B, "a.bin": A})
    assert path == str(tmp_path / SUMS_NAME)
    assert Path(path).read_text() == f"{A}  a.bin\n{B}  b.bin\n"
    assert subprocess.run(["sha256sum", "-c", "--strict", SUMS_NAME], cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SHA256SUMS", "a.bin", "b.bin"]


def test_lines_of_other_files_are_kept_and_this_runs_replaced(tmp_path: Path) -> None:
    (tmp_path / SUMS_NAME).write_text(f"{C}  other-app.zip\n{A}  app.zip\n")
    merge_sums(str(tmp_path), {"app.zip": B, "app.tar.gz": C})
    assert (tmp_path / SUMS_NAME).read_text() == (
        f"{C}  app.tar.gz\n{B}  app.zip\n{C}  other-app.zip\n"
    )


def test_binary_mode_lines_are_entries_and_foreign_lines_stay_first() -> None:
    old = f"# made by hand\n{A} *app.zip\n{C} *kept.bin\nnot a checksum line\n"
    assert merged_text(old, {"app.zip": B}) == (
        f"# made by hand\nnot a checksum line\n{B}  app.zip\n{C} *kept.bin\n"
    )


def test_names_in_subfolders_are_their_own_entries() -> None:
    old = f"{A}  x86_64-pc-windows-gnu/app.zip\n"
    assert merged_text(old, {"aarch64-unknown-linux-gnu/app.zip": B}) == (
        f"{B}  aarch64-unknown-linux-gnu/app.zip\n{A}  x86_64-pc-windows-gnu/app.zip\n"
    )


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = f"{A}  a.bin\n"
    (tmp_path / SUMS_NAME).write_text(old)

    def replace_fails(source: str, target: str) -> None:
        raise OSError(28, "No space left on device", target)

    monkeypatch.setattr(os, "replace", replace_fails)
    with pytest.raises(OSError, match="No space left"):
        merge_sums(str(tmp_path), {"b.bin": B})
    assert (tmp_path / SUMS_NAME).read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [SUMS_NAME]


def test_the_lock_is_exclusive_and_its_file_is_removed(tmp_path: Path) -> None:
    lock = str(tmp_path / LOCK_NAME)
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait()
        with locked(lock):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with locked(lock):
        order.append("first in")
        inside.set()
        # The other thread's flock waits on our file description until we let go.
        thread.join(timeout=0.5)
        order.append("first out")
    thread.join()
    assert order == ["first in", "first out", "second"]
    assert not os.path.exists(lock)


def _merge_many(out_dir: str, prefix: str, count: int) -> None:
    """A writer process: `count` merges of one name each, as `count` runs would."""
    for index in range(count):
        merge_sums(out_dir, {f"{prefix}-{index}.bin": A})


def test_concurrent_writers_in_processes_lose_no_line(tmp_path: Path) -> None:
    count = 60
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_merge_many, args=(str(tmp_path), prefix, count))
        for prefix in ("one", "two", "three")
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert [writer.exitcode for writer in writers] == [0, 0, 0]
    names = [line.split("  ", 1)[1] for line in (tmp_path / SUMS_NAME).read_text().splitlines()]
    expected = {f"{prefix}-{i}.bin" for prefix in ("one", "two", "three") for i in range(count)}
    assert sorted(names) == sorted(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [SUMS_NAME]


def test_a_writer_between_reading_and_writing_holds_the_other_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first writer has read the file and not yet written it when the second one
    starts: without the lock the second would read the same old file and one line
    would be lost; with it, the second reads what the first wrote."""
    first_read = threading.Event()
    second_started = threading.Event()
    second: list[threading.Thread] = []
    real_merged = sums.merged_text

    def pause_once(old: str, digests: dict[str, str]) -> str:
        if not first_read.is_set():
            first_read.set()
            second_started.wait(timeout=60)
            second[0].join(timeout=0.5)  # it waits for the lock meanwhile
        return real_merged(old, digests)

    monkeypatch.setattr(sums, "merged_text", pause_once)
    first = threading.Thread(target=merge_sums, args=(str(tmp_path), {"x.bin": A}))
    first.start()
    first_read.wait(timeout=60)

    def merge_second() -> None:
        second_started.set()
        merge_sums(str(tmp_path), {"y.bin": B})

    second.append(threading.Thread(target=merge_second))
    second[0].start()
    first.join()
    second[0].join()
    assert (tmp_path / SUMS_NAME).read_text() == f"{A}  x.bin\n{B}  y.bin\n"
