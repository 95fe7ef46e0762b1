"""Document titles (ingest.titles): the stated title, else the first real heading, else the file name."""

from __future__ import annotations

import pytest

from ingest.document import Block, BlockKind, ParsedDocument
from ingest.titles import clean_title, document_title


def doc(*blocks: tuple[BlockKind, str, int], title: str | None = None) -> ParsedDocument:
    return ParsedDocument(title=title, blocks=[Block(text, kind, level) for kind, text, level in blocks])


H, P, T = BlockKind.HEADING, BlockKind.PARAGRAPH, BlockKind.TABLE


@pytest.mark.parametrize(
    "text", ["1. 회의실 현황", "제1장 총칙", "제3조(정산)", "가. 목적", "(1) 범위", "표 1", "그림 2 조직도", "Table 3",
             "■ 서울 본사", "제목 없음", "Microsoft Word - 문서1", "출장비는 7일 이내에 정산한다.", "2025", "1.2 적용 범위"],
)  # fmt: skip
def test_what_only_looks_like_a_title_is_not_one(text: str) -> None:
    assert clean_title(text) is None


def test_the_stated_title_comes_first() -> None:
    parsed = doc((H, "1. 개요", 1), title="출장 및 경비 규정")
    assert document_title(parsed, "출장경비규정.pdf") == "출장 및 경비 규정"


def test_a_caption_as_stated_title_falls_through_to_the_file_name() -> None:
    parsed = doc((T, "표 1\n구분 | 금액", 0), title="표 1")
    assert document_title(parsed, "표.hwp") == "표"


def test_a_text_files_standalone_first_line_is_its_heading() -> None:
    parsed = doc(
        (P, "[회의실 예약 및 이용 안내]", 0),
        (P, "작성: 총무팀\n개정일: 2025년 2월 3일", 0),
        (H, "1. 회의실 현황", 1),
    )
    assert document_title(parsed, "회의실_예약_안내.txt") == "회의실 예약 및 이용 안내"


def test_numbered_headings_are_skipped_for_a_real_one() -> None:
    parsed = doc((H, "1. 회의실 현황", 1), (P, "■ 서울 본사", 0), (H, "회의실 예약 안내", 2))
    assert document_title(parsed, "x.docx") == "회의실 예약 안내"


def test_without_a_title_or_heading_the_file_name() -> None:
    parsed = doc((H, "1. 회의실 현황", 1), (P, "서울 본사에는 회의실이 12개 있다.", 0))
    assert document_title(parsed, "회의실_안내.txt") == "회의실_안내"
    assert document_title(doc((T, "표 1\n구분 | 금액", 0)), "표.hwp") == "표"
