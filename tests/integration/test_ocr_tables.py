"""Scanned tables kept as tables (issue 21 item 2): a Korean table rendered in NanumGothic or
NanumMyeongjo, with or without rules, is OCR'd by real Tesseract through the parsers and the pipeline (sandbox,
SQLite, Chroma, Kiwi-BM25) and comes back as a TABLE block with its header row; prose stays prose."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from app.container import Container
from core.settings import OcrMode, Settings
from ingest.document import BlockKind, ParseLimits
from ingest.ocr import tesseract_available
from ingest.parsers.image import parse_image
from ingest.parsers.pdf import parse_pdf
from ingest.pipeline import IngestRequest
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from tests.support.containers import make_container
from tests.support.scans import (
    GOTHIC,
    MYEONGJO,
    NOTICE,
    REGULATION,
    TABLE_AFTER,
    TABLE_ROWS,
    image_bytes,
    render_page,
    render_table_page,
    scanned_pdf,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not tesseract_available() or not GOTHIC.exists(),
        reason="needs tesseract-ocr, tesseract-ocr-kor and fonts-nanum (scripts/install-system-packages.sh)",
    ),
]
LIMITS = ParseLimits(ocr="auto")
HEADER = "| 구분 | 지급액 | 시행일 |"


def table_rows(text: str) -> list[list[str]]:
    """The cells of a rendered pipe table, the separator row left out."""
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in text.splitlines()]
    return [row for row in rows if set(row) != {"---"}]


def test_a_scanned_table_comes_back_as_a_table_with_its_header_row() -> None:
    document = parse_image(image_bytes(render_table_page(TABLE_ROWS)), LIMITS)
    kinds = [block.kind for block in document.blocks]
    assert kinds.count(BlockKind.TABLE) == 1
    table = document.blocks[kinds.index(BlockKind.TABLE)]
    assert table_rows(table.text) == TABLE_ROWS
    assert table.page == 1 and table.location is not None and "OCR" in table.location
    before, after = (
        document.blocks[: kinds.index(BlockKind.TABLE)],
        document.blocks[kinds.index(BlockKind.TABLE) + 1 :],
    )
    assert "다음 표와 같다" in " ".join(block.text for block in before)
    assert [block.kind for block in after] == [BlockKind.PARAGRAPH]
    assert "세전 금액" in after[0].text and "|" not in after[0].text


def test_a_skewed_myeongjo_table_keeps_its_rows_and_columns() -> None:
    document = parse_image(image_bytes(render_table_page(TABLE_ROWS, font=MYEONGJO, skew=2.0)), LIMITS)
    (table,) = [block for block in document.blocks if block.kind == BlockKind.TABLE]
    rows = table_rows(table.text)
    assert rows[0] == TABLE_ROWS[0]
    assert [len(row) for row in rows] == [3] * len(TABLE_ROWS)
    assert [row[0] for row in rows] == [row[0] for row in TABLE_ROWS]
    assert [row[2] for row in rows] == [row[2] for row in TABLE_ROWS]  # the dates, exactly


def test_a_ruled_table_loses_its_rules_and_keeps_its_cells() -> None:
    data = image_bytes(render_table_page(TABLE_ROWS, ruled=True, skew=1.5))
    (table,) = [block for block in parse_image(data, LIMITS).blocks if block.kind == BlockKind.TABLE]
    assert table_rows(table.text) == TABLE_ROWS
    # without the unrule step Tesseract drops text inside the grid (here the header and first column)
    kept = tuple(step for step in LIMITS.ocr_preprocess if step != "unrule")
    ruled = parse_image(data, dataclasses.replace(LIMITS, ocr_preprocess=kept))
    assert "숙박비 한도" not in ruled.text
    assert all(table_rows(block.text) != TABLE_ROWS for block in ruled.blocks)


@pytest.mark.parametrize("lines", [REGULATION, NOTICE, [TABLE_AFTER] * 6])
def test_prose_pages_stay_prose(lines: list[str]) -> None:
    document = parse_image(image_bytes(render_page(lines)), LIMITS)
    assert document.blocks and all(block.kind != BlockKind.TABLE for block in document.blocks)


def test_a_table_on_a_scanned_pdf_page_is_a_table() -> None:
    document = parse_pdf(scanned_pdf([render_page(REGULATION), render_table_page(TABLE_ROWS)]), LIMITS)
    (table,) = [block for block in document.blocks if block.kind == BlockKind.TABLE]
    assert table.page == 2 and table_rows(table.text) == TABLE_ROWS
    assert all(block.kind != BlockKind.TABLE for block in document.blocks if block.page == 1)


@pytest.fixture
def ocr_container(settings: Settings, kiwi: KiwiTokenizer) -> Iterator[Container]:
    ingest = settings.ingest.model_copy(update={"ocr": OcrMode.AUTO})
    container = make_container(settings.model_copy(update={"ingest": ingest}), kiwi)
    yield container
    container.close()


def test_a_scanned_table_is_retrieved_as_a_table_with_its_header(ocr_container: Container) -> None:
    data = scanned_pdf([render_table_page(TABLE_ROWS)])
    request = IngestRequest(
        data=data, filename="지급기준_스캔.pdf", source_key="지급기준_스캔.pdf", is_public=True
    )
    outcome = ocr_container.pipeline.ingest(request)
    assert outcome.status == "added"
    hits = ocr_container.searcher.search("숙박비 한도 120,000원", AccessScope())
    assert hits and hits[0].document_id == outcome.document_id and hits[0].page == 1
    assert HEADER in hits[0].text and "| 숙박비 한도 | 120,000원 | 2026.05.20 |" in hits[0].text
