"""The sandbox host's frames and how the parent reads a child's reply (no processes started)."""

from __future__ import annotations

import contextlib
import os
import pickle
import time
from collections.abc import Iterator

import pytest

from ingest.document import Block, BlockKind, ParsedDocument
from ingest.errors import LimitExceededError, ParseError
from ingest.sandbox import _result
from ingest.sandbox_host import DIED, MEMORY_EXIT, RESULT, TIMEOUT, read_frame, write_frame


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_fd, write_fd = os.pipe()
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_frames_round_trip_and_a_closed_stream_reads_as_none(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    write_frame(write_fd, b"R", "본문".encode())
    write_frame(write_fd, b"")
    os.close(write_fd)
    assert read_frame(read_fd) == b"R" + "본문".encode()
    assert read_frame(read_fd) == b""
    assert read_frame(read_fd) is None


def test_a_stream_cut_inside_a_frame_is_an_error(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    os.write(write_fd, (100).to_bytes(8, "big") + b"short")
    os.close(write_fd)
    with pytest.raises(EOFError):
        read_frame(read_fd)


def test_reading_gives_up_at_the_deadline(pipe: tuple[int, int]) -> None:
    read_fd, _ = pipe
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        read_frame(read_fd, time.monotonic() + 0.05)
    assert time.monotonic() - started < 2


def child_reply(outcome: object) -> bytes:
    return RESULT + pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)


def test_a_parsed_document_and_a_parser_error_come_back_intact() -> None:
    parsed = ParsedDocument([Block("제1조(목적)", BlockKind.HEADING, level=1, page=2)], title="규정")
    assert _result(child_reply(("ok", parsed)), 5.0) == parsed
    with pytest.raises(ParseError) as caught:
        _result(child_reply(("error", ParseError("bad_docx", "읽을 수 없음", "unreadable"))), 5.0)
    assert caught.value.code == "bad_docx"


class Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.getenv, ("HOME",))


def test_a_reply_naming_anything_but_document_types_is_refused() -> None:
    with pytest.raises(ParseError) as caught:
        _result(child_reply(("ok", Payload())), 5.0)
    assert caught.value.code == "parse_crash"


def test_timeouts_and_dead_children_become_readable_errors() -> None:
    with pytest.raises(LimitExceededError) as timeout:
        _result(TIMEOUT, 7.0)
    assert timeout.value.code == "parse_timeout"
    with pytest.raises(LimitExceededError) as memory:
        _result(DIED + str(MEMORY_EXIT).encode(), 7.0)
    assert memory.value.code == "parse_memory"
    with pytest.raises(LimitExceededError) as killed:
        _result(DIED + b"-9", 7.0)
    assert killed.value.code == "parse_killed"
    assert "-9" in killed.value.message_en
