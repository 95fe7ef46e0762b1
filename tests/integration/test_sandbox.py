"""Sandboxed parsing: a real child process with time and memory limits."""

from __future__ import annotations

import pytest

from ingest.detect import FileType
from ingest.document import ParseLimits
from ingest.errors import LimitExceededError, ParseError
from ingest.sandbox import parse_sandboxed

pytestmark = pytest.mark.integration


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
