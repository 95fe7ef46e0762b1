from __future__ import annotations

from core.settings import ChunkingSettings
from ingest.chunker import Chunker
from ingest.document import Block, BlockKind, ParsedDocument


def count_chars(text: str) -> int:
    return len(text)


def make_chunker(size: int = 200, overlap: int = 20) -> Chunker:
    return Chunker(ChunkingSettings(chunk_tokens=size, overlap_tokens=overlap), count_chars)


REGULATION = ParsedDocument(
    title="취업규칙",
    blocks=[
        Block("제1장 총칙", BlockKind.HEADING, level=1),
        Block("제1조(목적) 이 규칙은 한빛솔루션 직원의 근로조건을 정한다.", BlockKind.PARAGRAPH),
        Block("제2조(적용범위) 이 규칙은 모든 직원에게 적용한다.", BlockKind.PARAGRAPH),
        Block("제3장 휴가", BlockKind.HEADING, level=1),
        Block("제12조(연차휴가)", BlockKind.HEADING, level=3),
        Block("① 회사는 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.", BlockKind.PARAGRAPH),
        Block(
            "② 3년 이상 근속한 직원에게는 최초 1년을 초과하는 매 2년에 1일을 가산한다.", BlockKind.PARAGRAPH
        ),
    ],
)


def test_articles_start_new_chunks_and_carry_their_reference() -> None:
    chunks = make_chunker().chunk(REGULATION)
    articles = [c.article for c in chunks]
    assert articles == ["제1조", "제2조", "제12조"]
    assert chunks[0].section_path == ["제1장 총칙", "제1조(목적)"]
    assert chunks[2].section_path == ["제3장 휴가", "제12조(연차휴가)"]
    assert chunks[2].text.splitlines()[:2] == ["제3장 휴가", "제12조(연차휴가)"]
    assert "15일" in chunks[2].text and "매 2년" in chunks[2].text


def test_article_split_over_chunks_is_labelled_with_its_paragraphs() -> None:
    chunks = make_chunker(size=60, overlap=10).chunk(REGULATION)
    labels = [c.article for c in chunks if c.article and c.article.startswith("제12조")]
    assert labels == ["제12조 ①", "제12조 ②"]


def test_every_chunk_respects_the_token_budget() -> None:
    long_text = " ".join(["연차휴가는 직원의 권리이다."] * 200)
    doc = ParsedDocument(blocks=[Block("개요", BlockKind.HEADING, level=1), Block(long_text)])
    chunks = make_chunker(size=100, overlap=10).chunk(doc)
    assert len(chunks) > 10
    assert all(c.token_count <= 100 for c in chunks)
    assert all(c.section_path == ["개요"] for c in chunks)


def test_tables_stay_whole_when_they_fit_and_split_by_rows_with_header_otherwise() -> None:
    rows = "\n".join(f"| 직급{i} | {i * 10000}원 |" for i in range(40))
    table = "| 구분 | 금액 |\n| --- | --- |\n" + rows
    small = ParsedDocument(blocks=[Block(table[:120], BlockKind.TABLE)])
    assert len(make_chunker(size=500).chunk(small)) == 1
    chunks = make_chunker(size=200).chunk(ParsedDocument(blocks=[Block(table, BlockKind.TABLE)]))
    assert len(chunks) > 1
    assert all(c.text.startswith("| 구분 | 금액 |\n| --- | --- |") for c in chunks)
    joined = "\n".join(c.text for c in chunks)
    assert all(f"| 직급{i} |" in joined for i in range(40))


def test_pages_are_not_mixed_in_one_chunk() -> None:
    doc = ParsedDocument(blocks=[Block("첫 쪽 내용", page=1), Block("둘째 쪽 내용", page=2)])
    chunks = make_chunker().chunk(doc)
    assert [(c.page, c.text) for c in chunks] == [(1, "첫 쪽 내용"), (2, "둘째 쪽 내용")]


def test_reference_in_running_text_is_not_an_article() -> None:
    doc = ParsedDocument(blocks=[Block("제12조에 따라 휴가를 신청한다.")])
    assert make_chunker().chunk(doc)[0].article is None
