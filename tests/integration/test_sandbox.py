"""Sandboxed parsing: a real child process with time and memory limits."""

from __future__ import annotations

import os
import signal
import subprocess
import weakref

import pytest

from ingest.detect import FileType
from ingest.document import ParsedDocument, ParseLimits
from ingest.errors import LimitExceededError, ParseError
from ingest.sandbox import ParseSandbox, _kill_host

pytestmark = pytest.mark.integration


def parse_sandboxed(
    data: bytes, file_type: FileType, limits: ParseLimits, *, timeout_s: float, memory_mb: int
) -> ParsedDocument:
    """One parse in a child of a fresh host, stopped afterwards."""
    with ParseSandbox() as sandbox:
        return sandbox.parse(data, file_type, limits, timeout_s=timeout_s, memory_mb=memory_mb)


def test_a_normal_file_parses_in_the_child() -> None:
    parsed = parse_sandboxed(
        "# 제목\n\n본문입니다.".encode(), FileType.MARKDOWN, ParseLimits(), timeout_s=30, memory_mb=1024
    )
    assert parsed.title == "제목"
    assert "본문입니다." in parsed.text


def test_parser_errors_cross_the_process_boundary_intact() -> None:
    with pytest.raises(ParseError) as caught:
        parse_sandboxed(b"not a zip at all", FileType.DOCX, ParseLimits(), timeout_s=30, memory_mb=1024)
    assert caught.value.message_ko
    assert caught.value.message_en


def test_a_parse_that_runs_too_long_is_killed() -> None:
    # A huge markdown document with a 0.05 s budget: the child cannot finish in time.
    text = ("# 제목\n\n" + "가나다라 마바사 아자차카. " * 20 + "\n\n") * 20000
    with pytest.raises(LimitExceededError) as caught:
        parse_sandboxed(text.encode(), FileType.MARKDOWN, ParseLimits(), timeout_s=0.05, memory_mb=2048)
    assert caught.value.code == "parse_timeout"


def test_a_parse_that_needs_too_much_memory_is_stopped() -> None:
    text = "가" * (40 * 1024 * 1024)
    with pytest.raises(LimitExceededError) as caught:
        parse_sandboxed(text.encode(), FileType.TEXT, ParseLimits(), timeout_s=60, memory_mb=300)
    assert caught.value.code in {"parse_memory", "parse_killed"}


def test_one_host_serves_many_parses_and_is_restarted_if_it_dies() -> None:
    with ParseSandbox() as sandbox:
        first = sandbox.parse(b"# a\n\nbody", FileType.MARKDOWN, ParseLimits(), timeout_s=30, memory_mb=1024)
        host = sandbox._host
        assert host is not None
        sandbox.parse(b"# b\n\nbody", FileType.MARKDOWN, ParseLimits(), timeout_s=30, memory_mb=1024)
        assert sandbox._host is host, "the host is reused"
        os.killpg(host.pid, signal.SIGKILL)
        host.wait(timeout=10)
        again = sandbox.parse(b"# c\n\nbody", FileType.MARKDOWN, ParseLimits(), timeout_s=30, memory_mb=1024)
        assert sandbox._host is not None and sandbox._host.pid != host.pid
    assert (first.title, again.title) == ("a", "c")
    assert sandbox._host is None, "closing stops the host"


def test_a_timed_out_child_leaves_the_host_ready_for_the_next_file() -> None:
    slow = (("# 제목\n\n" + "가나다라 마바사 아자차카. " * 20 + "\n\n") * 20000).encode()
    with ParseSandbox() as sandbox:
        with pytest.raises(LimitExceededError):
            sandbox.parse(slow, FileType.MARKDOWN, ParseLimits(), timeout_s=0.05, memory_mb=2048)
        parsed = sandbox.parse(
            b"# ok\n\nbody", FileType.MARKDOWN, ParseLimits(), timeout_s=30, memory_mb=1024
        )
    assert parsed.title == "ok"


def test_an_idle_host_exits_and_the_next_parse_starts_a_new_one() -> None:
    with ParseSandbox(idle_exit_s=0.2) as sandbox:
        sandbox.parse(b"# a\n\nbody", FileType.MARKDOWN, ParseLimits(), timeout_s=30, memory_mb=1024)
        host = sandbox._host
        assert host is not None
        host.wait(timeout=30)  # it leaves on its own
        parsed = sandbox.parse(b"# b\n\nbody", FileType.MARKDOWN, ParseLimits(), timeout_s=30, memory_mb=1024)
        assert sandbox._host is not None and sandbox._host.pid != host.pid
    assert parsed.title == "b"


def test_a_request_that_meets_a_departing_host_goes_to_a_new_one() -> None:
    with ParseSandbox() as sandbox:
        # Stands in for a host that is exiting: alive when asked, it ends without answering.
        departing = subprocess.Popen(
            ["sleep", "0.3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
        )
        sandbox._host = departing
        sandbox._finalizer = weakref.finalize(sandbox, _kill_host, departing)
        parsed = sandbox.parse(b"# a\n\nbody", FileType.MARKDOWN, ParseLimits(), timeout_s=30, memory_mb=1024)
        assert sandbox._host is not None and sandbox._host.pid != departing.pid
    assert parsed.title == "a"
