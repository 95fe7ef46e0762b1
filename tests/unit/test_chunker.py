from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import ChunkingSettings
from ingest.chunker import Chunker
from ingest.document import Block, BlockKind, ParsedDocument


def make_chunker(size: int = 200, overlap: int = 20) -> Chunker:
    return Chunker(ChunkingSettings(chunk_chars=size, overlap_chars=overlap))


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
    chunks = make_chunker(size=100, overlap=10).chunk(REGULATION)
    labels = [c.article for c in chunks if c.article and c.article.startswith("제12조")]
    assert labels == ["제12조 ①", "제12조 ②"]


def test_an_article_with_all_its_clauses_in_one_block_splits_between_clauses() -> None:
    clauses = [
        f"{mark} 이 항은 연차휴가에 관한 {i}번째 기준을 정하며 그 내용은 다음과 같다. 세부 사항은 인사팀이 따로 공지한다."
        for i, mark in enumerate("①②③④")
    ]
    doc = ParsedDocument(blocks=[Block("제24조(연차유급휴가)\n" + "\n".join(clauses))])
    whole = make_chunker(size=1000, overlap=100).chunk(doc)
    assert [c.article for c in whole] == ["제24조"]
    split = make_chunker(size=100, overlap=0).chunk(doc)
    assert [c.article for c in split] == ["제24조 ①", "제24조 ②", "제24조 ③", "제24조 ④"]
    assert [c.text[:1] for c in split] == ["제", "②", "③", "④"]


def test_budgets_are_characters_whatever_the_script() -> None:
    korean = "가" * 950
    doc = ParsedDocument(blocks=[Block(korean)])
    assert len(make_chunker(size=1000, overlap=100).chunk(doc)) == 1
    assert make_chunker(size=1000, overlap=100).chunk(doc)[0].char_count == 950


def test_every_chunk_respects_the_character_budget() -> None:
    long_text = " ".join(["연차휴가는 직원의 권리이다."] * 200)
    doc = ParsedDocument(blocks=[Block("개요", BlockKind.HEADING, level=1), Block(long_text)])
    chunks = make_chunker(size=100, overlap=10).chunk(doc)
    assert len(chunks) > 10
    assert all(c.char_count <= 100 for c in chunks)
    assert all(c.section_path == ["개요"] for c in chunks)


def test_split_pieces_overlap_and_lose_no_text() -> None:
    sentences = [f"문장 {i}번은 여기서 끝난다." for i in range(60)]
    chunks = make_chunker(size=120, overlap=30).chunk(ParsedDocument(blocks=[Block(" ".join(sentences))]))
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)
    assert any(chunks[i].text.split()[-1] in chunks[i + 1].text for i in range(len(chunks) - 1))


def test_tables_stay_whole_when_they_fit_and_split_by_rows_with_header_otherwise() -> None:
    rows = "\n".join(f"| 직급{i} | {i * 10000}원 |" for i in range(40))
    table = "| 구분 | 금액 |\n| --- | --- |\n" + rows
    small = ParsedDocument(blocks=[Block(table[:120], BlockKind.TABLE)])
    assert len(make_chunker(size=500).chunk(small)) == 1
    chunks = make_chunker(size=200).chunk(ParsedDocument(blocks=[Block(table, BlockKind.TABLE)]))
    assert len(chunks) > 1
    assert all(c.char_count <= 200 for c in chunks)
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


def test_stored_size_is_the_character_count() -> None:
    chunk = make_chunker().chunk(ParsedDocument(blocks=[Block("연차휴가 15일")]))[0]
    assert chunk.token_count == chunk.char_count == len("연차휴가 15일")


def test_old_token_settings_are_refused_with_their_replacement() -> None:
    with pytest.raises(ValidationError, match="chunk_chars"):
        ChunkingSettings.model_validate({"chunk_tokens": 256})
    with pytest.raises(ValidationError, match="smaller"):
        ChunkingSettings(chunk_chars=200, overlap_chars=200)
