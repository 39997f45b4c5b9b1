"""The pure parts of `verify --stdin/--stdin-file/--expect-port/--expect-output`: the port
as /proc/net/tcp writes it, the sh check that reads those tables (run by a real sh on
tables written here), the options' checks, and the verdicts and report of each outcome."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packager.core.errors import UsageError
from packager.verify.model import Check, Expectation
from packager.verify.watch import (
    LISTENS,
    expectation_of,
    port_hex,
    require_sandbox,
    standard_input,
    watched_command,
)

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
TCP6_HEADER = "  sl  local_address                         remote_address      st\n"


def _socket(local_port: str, state: str, remote_port: str = "0000") -> str:
    """A line of /proc/net/tcp: 127.0.0.1:local_port, in `state`."""
    return (
        f"   0: 0100007F:{local_port} 00000000:{remote_port} {state} 00000000:00000000 "
        "00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0\n"
    )


def _listens(tmp_path: Path, port: int, *tables: str) -> bool:
    """Whether the sh function LISTENS finds `port` listening in `tables` (file texts)."""
    paths = []
    for number, text in enumerate(tables):
        path = tmp_path / f"table{number}"
        path.write_text(text)
        paths.append(str(path))
    script = LISTENS + 'listens "$@"'
    done = subprocess.run(
        ["sh", "-c", script, "sh", port_hex(port), *paths, str(tmp_path / "missing")],
        check=False,
    )
    return done.returncode == 0


def test_a_port_is_written_as_proc_net_tcp_writes_it() -> None:
    assert [port_hex(port) for port in (1, 80, 8080, 65535)] == ["0001", "0050", "1F90", "FFFF"]


def test_a_listening_socket_on_the_port_is_found(tmp_path: Path) -> None:
    assert _listens(tmp_path, 8080, HEADER + _socket("0016", "0A") + _socket("1F90", "0A"))


def test_a_listening_socket_in_the_tcp6_table_is_found(tmp_path: Path) -> None:
    line = (
        "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000     0        0 41235 1 0000000000000000\n"
    )
    assert _listens(tmp_path, 8080, HEADER, TCP6_HEADER + line)


def test_a_connection_on_the_port_is_not_listening(tmp_path: Path) -> None:
    assert not _listens(tmp_path, 8080, HEADER + _socket("1F90", "01"))


def test_the_port_at_the_other_end_of_a_connection_is_not_listening(tmp_path: Path) -> None:
    assert not _listens(tmp_path, 8080, HEADER + _socket("D431", "0A", remote_port="1F90"))


def test_a_port_whose_hex_ends_like_the_port_is_not_it(tmp_path: Path) -> None:
    assert not _listens(tmp_path, 0x90, HEADER + _socket("1F90", "0A"))


@settings(max_examples=25)
@given(port=st.integers(1, 65535), other=st.integers(1, 65535))
def test_only_the_listening_port_is_found(tmp_path_factory: pytest.TempPathFactory,
                                          port: int, other: int) -> None:  # fmt: skip
    table = HEADER + _socket(port_hex(other), "0A")
    assert _listens(tmp_path_factory.mktemp("tables"), port, table) == (port == other)


def test_an_expected_port_is_checked() -> None:
    assert expectation_of(8080, None) == Expectation(Check.PORT, port=8080)


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_a_port_outside_1_to_65535_is_refused(port: int) -> None:
    with pytest.raises(UsageError, match="is not a TCP port"):
        expectation_of(port, None)


def test_an_expected_output_is_a_regular_expression() -> None:
    assert expectation_of(None, "listening on [0-9]+") == Expectation(
        Check.OUTPUT, pattern="listening on [0-9]+"
    )


def test_an_expected_output_that_is_no_regular_expression_is_refused() -> None:
    with pytest.raises(UsageError, match="is not a regular expression"):
        expectation_of(None, "listening (on")


def test_a_port_and_an_output_together_are_refused() -> None:
    with pytest.raises(UsageError, match="give one"):
        expectation_of(8080, "listening")


def test_without_expectations_the_exit_status_counts() -> None:
    assert expectation_of(None, None) == Expectation(Check.EXIT_STATUS)


def test_a_windows_subject_is_refused_an_expected_port() -> None:
    with pytest.raises(UsageError, match="--expect-port verifies a Linux bundle only"):
        require_sandbox(Expectation(Check.PORT, port=80), "dist/app.zip")


def test_stdin_text_is_given_as_it_is() -> None:
    assert standard_input("3\n4\n", None) == b"3\n4\n"


def test_stdin_file_gives_the_files_bytes(tmp_path: Path) -> None:
    answers = tmp_path / "answers"
    answers.write_bytes(b"3\r\n\xff4")
    assert standard_input(None, str(answers)) == b"3\r\n\xff4"


def test_without_stdin_options_there_is_no_input() -> None:
    assert standard_input(None, None) is None


def test_a_fifo_as_stdin_file_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="must name a regular file"):
        standard_input(None, str(fifo))


def test_a_missing_stdin_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot be read"):
        standard_input(None, str(tmp_path / "missing"))


def test_stdin_and_stdin_file_together_are_refused(tmp_path: Path) -> None:
    answers = tmp_path / "answers"
    answers.write_text("1\n")
    with pytest.raises(UsageError, match="give one"):
        standard_input("1\n", str(answers))


def test_a_run_for_its_exit_status_is_the_command_as_it_is() -> None:
    assert watched_command(["/tmp/app"], Expectation(), None) == ["/tmp/app"]


def test_a_run_for_a_port_is_watched_by_the_script() -> None:
    command = watched_command(["/tmp/app", "a b"], Expectation(Check.PORT, port=80), "/c")
    assert command[:2] == ["sh", "-c"] and command[3:] == ["sh", "/c", "0050", "/tmp/app", "a b"]
