"""Tables found in Tesseract's output (ingest.ocr_tables) from hand-made TSV, and ruling lines removed
before OCR (ingest.ocr_preprocess.unrule) on synthetic pages: no Tesseract needed."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ingest.ocr import OcrPage
from ingest.ocr_preprocess import unrule
from ingest.ocr_tables import find_tables
from ingest.parsers.pdf import ocr_page_blocks

HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def tsv(lines: list[list[tuple[int, str]]], height: int = 46) -> str:
    """TSV for ``lines`` of (left, word) boxes, each word 30 px per character."""
    rows = [HEADER]
    for number, words in enumerate(lines, start=1):
        for index, (left, word) in enumerate(words, start=1):
            box = f"{left}\t{100 * number}\t{30 * len(word)}\t{height}"
            rows.append(f"5\t1\t1\t1\t{number}\t{index}\t{box}\t95.0\t{word}")
    return "\n".join(rows)


TABLE_BOXES = [
    [(100, "구분"), (1000, "금액")],
    [(100, "출장"), (170, "일비"), (1000, "30,000"), (1185, "원")],
    [(100, "주차비"), (1000, "40,000"), (1185, "원")],
]
TABLE_TEXT = "구분        금액\n출장 일비   30,000원\n주차비      40,000원"


def test_aligned_columns_become_a_table_with_korean_words_from_the_text() -> None:
    (table,) = find_tables(TABLE_TEXT, tsv(TABLE_BOXES))
    assert (table.first, table.last) == (0, 2)
    assert table.rows == (("구분", "금액"), ("출장 일비", "30,000원"), ("주차비", "40,000원"))


def test_prose_with_ordinary_word_gaps_is_never_a_table() -> None:
    boxes = [[(100 + 90 * i, "단어") for i in range(8)] for _ in range(5)]
    text = "\n".join(" ".join(["단어"] * 8) for _ in range(5))
    assert find_tables(text, tsv(boxes)) == ()


def test_two_rows_are_not_enough() -> None:
    assert find_tables("\n".join(TABLE_TEXT.splitlines()[:2]), tsv(TABLE_BOXES[:2])) == ()


def test_columns_that_do_not_line_up_are_not_a_table() -> None:
    boxes = [
        [(100, "가"), (400, "나")],
        [(100, "다"), (700, "라")],
        [(100, "가나다라마바사아자"), (900, "차")],
    ]
    assert find_tables("가 나\n다 라\n가나다라마바사아자 차", tsv(boxes)) == ()


def test_text_that_does_not_match_the_boxes_gives_no_table() -> None:
    assert find_tables(TABLE_TEXT.replace("주차비", "주자비"), tsv(TABLE_BOXES)) == ()
    assert find_tables(TABLE_TEXT + "\n남는 줄", tsv(TABLE_BOXES)) == ()


def test_the_table_stands_in_its_place_among_the_page_blocks() -> None:
    text = f"지급액은 다음과 같다.\n\n{TABLE_TEXT}\n\n이 금액은 세전이다."
    boxes = [
        [(100, "지급액은"), (350, "다음과"), (560, "같다.")],
        *TABLE_BOXES,
        [(100, "이"), (140, "금액은")],
    ]
    boxes[-1].append((340, "세전이다."))
    page = OcrPage(text, 95.0, 12, find_tables(text, tsv(boxes)))
    blocks = ocr_page_blocks(page, 3)
    assert [block.kind.value for block in blocks] == ["paragraph", "table", "paragraph"]
    assert blocks[1].text.splitlines() == [
        "| 구분 | 금액 |",
        "| --- | --- |",
        "| 출장 일비 | 30,000원 |",
        "| 주차비 | 40,000원 |",
    ]
    assert {block.page for block in blocks} == {3}


def grid_page(ruled: bool) -> Image.Image:
    """A 300-dpi page of word-like ink blocks (90 × 22 px), in a ruled grid when ``ruled``."""
    page = Image.new("L", (1200, 900), 255)
    draw = ImageDraw.Draw(page)
    for top in range(120, 760, 80):
        for left in (110, 500, 860):
            draw.rectangle((left, top, left + 90, top + 22), fill=20)
    if ruled:
        for top in range(100, 821, 80):
            draw.line([(90, top), (1100, top)], fill=0, width=3)
        for left in (90, 480, 840, 1100):
            draw.line([(left, 100), (left, 820)], fill=0, width=3)
    return page


def test_unrule_removes_the_grid_and_keeps_the_words() -> None:
    cleaned = np.asarray(unrule(grid_page(ruled=True), 300))
    assert (cleaned == np.asarray(grid_page(ruled=False))).mean() > 0.999
    assert cleaned[100, 300] == 255 and cleaned[400, 480] == 255  # on a rule
    assert cleaned[130, 150] == 20  # inside a word


def test_unrule_leaves_a_page_without_rules_alone() -> None:
    page = grid_page(ruled=False)
    assert unrule(page, 300) is page
