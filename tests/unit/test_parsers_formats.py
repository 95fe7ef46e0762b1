"""Tests for the PDF, DOCX, PPTX, XLSX, CSV, HTML, Markdown and plain-text parsers."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from pathlib import Path

import pytest

from ingest.document import Block, BlockKind, ParseLimits
from ingest.errors import EncryptedDocumentError, LimitExceededError, NoTextError, ParseError
from ingest.parsers.csv_table import parse_csv, sniff_delimiter
from ingest.parsers.docx import parse_docx
from ingest.parsers.html import parse_html
from ingest.parsers.markdown import parse_markdown
from ingest.parsers.pdf import join_lines, page_blocks, parse_pdf
from ingest.parsers.pptx import parse_pptx
from ingest.parsers.safezip import MAX_MEMBERS, open_ooxml
from ingest.parsers.tables import render_table
from ingest.parsers.text import decode_text, parse_text, split_regulation_heading
from ingest.parsers.xlsx import format_cell, parse_xlsx
from tests.unit import format_fixtures as ff

LIMITS = ParseLimits()
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
)
H, P, L, T = BlockKind.HEADING, BlockKind.PARAGRAPH, BlockKind.LIST_ITEM, BlockKind.TABLE
PAY_TABLE_MD = "| 구분 | 금액 |\n| --- | --- |\n| 기본급 | 2,000,000원 |\n| 식대 | 200,000원 |"


def shape(blocks: list[Block]) -> list[tuple[BlockKind, int, str]]:
    """Blocks as (kind, level, text) for compact exact comparisons."""
    return [(b.kind, b.level, b.text) for b in blocks]


# --- text ---------------------------------------------------------------------------------------


class TestDecodeText:
    KOREAN = "제12조(연차휴가) 회사는 근로자에게 유급휴가를 준다."

    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp949", "euc-kr"])
    def test_decodes_korean_exactly(self, encoding: str) -> None:
        assert decode_text(self.KOREAN.encode(encoding)) == self.KOREAN

    def test_cp949_only_syllable(self) -> None:
        text = "똠방각하 샾"  # 똠 and 샾 exist in CP949 but not in plain EUC-KR
        assert decode_text(text.encode("cp949")) == text

    def test_normalizes_newlines_and_nfc(self) -> None:
        decomposed = unicodedata.normalize("NFD", "한글")
        assert decode_text(f"{decomposed}\r\n둘째\r셋째".encode()) == "한글\n둘째\n셋째"

    def test_falls_back_to_detection(self) -> None:
        text = "Prüfung der Qualität für Änderungen und Übersicht über größere Maßnahmen"
        assert decode_text(text.encode("cp1252")) == text


class TestRegulationHeading:
    @pytest.mark.parametrize(
        ("line", "level"),
        [
            ("제1장 총칙", 1),
            ("제 2 장 인사", 1),
            ("제2절 복무", 2),
            ("제12조(연차휴가)", 3),
            ("제12조 (연차휴가) ① 회사는 휴가를 준다.", 3),
            ("제3조의2(정의) 이 규정에서 사용하는 용어는 다음과 같다.", 3),
            ("제1조에 따라 회사는 휴가를 준다.", None),
            ("제3장에서 설명한 바와 같다.", None),
            ("총칙", None),
            ("부칙", 1),
            ("부칙 <2025. 3. 1.>", 1),
            ("부칙에 따른다.", None),
            ("제1장 총칙 ........ 3", None),
            ("제12조(연차휴가) …… 5", None),
        ],
    )
    def test_levels(self, line: str, level: int | None) -> None:
        found = split_regulation_heading(line)
        assert (found[0] if found else None) == level


class TestParseText:
    def test_paragraphs_and_headings(self) -> None:
        text = f"제1장 총칙\n\n{ff.ARTICLE_12}\n② 둘째 항.\n\n제2절 복무\n일반 문단"
        doc = parse_text(text.encode("cp949"), LIMITS)
        assert shape(doc.blocks) == [
            (H, 1, "제1장 총칙"),
            (H, 3, "제12조(연차휴가)"),
            (P, 0, f"{ff.ARTICLE_12_BODY}\n② 둘째 항."),
            (H, 2, "제2절 복무"),
            (P, 0, "일반 문단"),
        ]
        assert doc.title is None

    def test_rule_lines(self) -> None:
        text = "머리말\n\n==========\n1. 회의실 현황\n==========\n본문 첫 줄\n둘째 줄\n----------\n끝"
        assert shape(parse_text(text.encode(), LIMITS).blocks) == [
            (P, 0, "머리말"),
            (H, 1, "1. 회의실 현황"),
            (P, 0, "본문 첫 줄\n둘째 줄"),
            (P, 0, "끝"),
        ]

    def test_empty_text_has_no_text(self) -> None:
        with pytest.raises(NoTextError):
            parse_text(b" \n\n \r\n", LIMITS)


# --- markdown -----------------------------------------------------------------------------------


class TestMarkdown:
    SOURCE = """---
layout: page
---
# 인사 **규정** 안내 #

소개 문단은 [링크](https://example.com)와 `코드`를 포함한다.
둘째 줄.

## 휴가
- 연차 휴가
  - 반차 포함
- 병가
1. 첫째

| 구분 | 금액 |
|:----|----:|
| 기본급 | 2,000,000원 |

```python
def f():

    return 1
```

제12조(연차휴가) ① 회사는 휴가를 준다.

부제목
------
"""

    def test_structure(self) -> None:
        doc = parse_markdown(self.SOURCE.encode(), LIMITS)
        assert shape(doc.blocks) == [
            (H, 1, "인사 규정 안내"),
            (P, 0, "소개 문단은 링크와 코드를 포함한다.\n둘째 줄."),
            (H, 2, "휴가"),
            (L, 1, "연차 휴가"),
            (L, 2, "반차 포함"),
            (L, 1, "병가"),
            (L, 1, "첫째"),
            (T, 0, "| 구분 | 금액 |\n|:----|----:|\n| 기본급 | 2,000,000원 |"),
            (P, 0, "```python\ndef f():\n\n    return 1\n```"),
            (H, 3, "제12조(연차휴가)"),
            (P, 0, "① 회사는 휴가를 준다."),
            (H, 2, "부제목"),
        ]
        assert doc.title == "인사 규정 안내"

    def test_front_matter_title(self) -> None:
        doc = parse_markdown(b'---\ntitle: "Handbook"\n---\n## Intro\ntext\n', LIMITS)
        assert doc.title == "Handbook"
        assert shape(doc.blocks) == [(H, 2, "Intro"), (P, 0, "text")]


# --- html ---------------------------------------------------------------------------------------


class TestHtml:
    PAGE = """<!doctype html><html><head><meta charset="euc-kr"><title>복무 규정</title>
<style>body { color: red }</style><script>var secret = "스크립트 내용";</script></head>
<body><noscript>자바스크립트를 켜 주세요</noscript>
<h1>제1장 총칙</h1>
<div>머리말 <b>강조</b> 문장<p>첫 문단<br>둘째 줄</p>꼬리 글</div>
<ul><li>항목 하나<ul><li>하위 항목</li></ul></li><li>항목 둘</li></ul>
<table><caption>급여표</caption>
<tr><th>구분</th><th>금액</th></tr>
<tr><td>기본급</td><td>2,000,000원</td></tr>
<tr><td colspan="2">합계 별도</td></tr>
</table>
<template><p>숨은 템플릿</p></template><p hidden>숨김</p>
<iframe src="x">프레임</iframe>
</body></html>"""

    def test_structure_and_script_removed(self) -> None:
        doc = parse_html(self.PAGE.encode("cp949"), LIMITS)
        assert shape(doc.blocks) == [
            (H, 1, "제1장 총칙"),
            (P, 0, "머리말 강조 문장"),
            (P, 0, "첫 문단\n둘째 줄"),
            (P, 0, "꼬리 글"),
            (L, 1, "항목 하나"),
            (L, 2, "하위 항목"),
            (L, 1, "항목 둘"),
            (P, 0, "급여표"),
            (T, 0, "| 구분 | 금액 |\n| --- | --- |\n| 기본급 | 2,000,000원 |\n| 합계 별도 | 합계 별도 |"),
        ]
        assert doc.title == "복무 규정"
        for hidden in ("스크립트", "secret", "color", "자바스크립트", "템플릿", "숨김", "프레임"):
            assert hidden not in doc.text

    def test_rowspan_and_title_from_h1(self) -> None:
        page = (
            "<h1>표</h1><table><tr><td rowspan=2>A</td><td>1</td></tr><tr><td>2</td></tr>"
            "<tr><td>B</td><td>3</td></tr></table>"
        )
        doc = parse_html(page.encode(), LIMITS)
        assert doc.title == "표"
        assert doc.blocks[1].text == "| A | 1 |\n| --- | --- |\n| A | 2 |\n| B | 3 |"

    def test_misdeclared_charset_falls_back(self) -> None:
        page = '<meta charset="utf-8"><p>한글 본문</p>'.encode("cp949")
        assert parse_html(page, LIMITS).text == "한글 본문"

    def test_script_only_page_has_no_text(self) -> None:
        with pytest.raises(NoTextError):
            parse_html(b"<html><script>alert(1)</script></html>", LIMITS)


# --- csv and tables -----------------------------------------------------------------------------


class TestCsvAndTables:
    def test_render_table_escapes_and_pads(self) -> None:
        assert render_table([["a|b", "c"], ["줄\n바꿈"]]) == "| a\\|b | c |\n| --- | --- |\n| 줄 바꿈 |  |"

    @pytest.mark.parametrize("delimiter", [",", "\t", ";"])
    def test_delimiters(self, delimiter: str) -> None:
        text = "\n".join(delimiter.join(row) for row in [["구분", "금액"], ["기본급", "2000000"]])
        assert sniff_delimiter(text) == delimiter
        doc = parse_csv(text.encode(), LIMITS)
        assert shape(doc.blocks) == [(T, 0, "| 구분 | 금액 |\n| --- | --- |\n| 기본급 | 2000000 |")]

    def test_cp949_quoted_and_empty_columns(self) -> None:
        text = '구분,,금액\r\n"기본급, 월",,"2,000,000원"\r\n,,\r\n식대,,200000\r\n'
        doc = parse_csv(text.encode("cp949"), LIMITS)
        assert doc.blocks[0].text == (
            "| 구분 | 금액 |\n| --- | --- |\n| 기본급, 월 | 2,000,000원 |\n| 식대 | 200000 |"
        )

    def test_long_file_split_with_header(self) -> None:
        rows = ["번호,이름"] + [f"{n},직원{n}" for n in range(1, 121)]
        doc = parse_csv("\n".join(rows).encode(), LIMITS)
        assert len(doc.blocks) == 3
        assert all(b.text.startswith("| 번호 | 이름 |\n| --- | --- |\n") for b in doc.blocks)
        assert doc.blocks[1].text.split("\n")[2] == "| 51 | 직원51 |"
        assert doc.blocks[2].text.count("\n") == 21

    def test_cell_budget(self) -> None:
        with pytest.raises(LimitExceededError):
            parse_csv(b"a,b\n" * 1000, ParseLimits(max_decompressed_bytes=100))


# --- safezip ------------------------------------------------------------------------------------


class TestSafeZip:
    def test_zip_bomb_docx(self, tmp_path: Path) -> None:
        data = ff.make_zip_bomb_docx(tmp_path).read_bytes()
        assert len(data) < 1024 * 1024
        with pytest.raises(LimitExceededError) as caught:
            parse_docx(data, ParseLimits(max_decompressed_bytes=1024 * 1024))
        assert caught.value.code == "decompressed_too_large"

    def test_lying_declared_size_is_rejected(self, tmp_path: Path) -> None:
        data = ff.make_lying_zip_docx(tmp_path).read_bytes()
        with pytest.raises((ParseError, LimitExceededError)):
            parse_docx(data, ParseLimits(max_decompressed_bytes=1024 * 1024))

    def test_xxe_rejected(self, tmp_path: Path) -> None:
        with pytest.raises(ParseError) as caught:
            parse_docx(ff.make_xxe_docx(tmp_path).read_bytes(), LIMITS)
        assert caught.value.code == "xml_dtd_forbidden"

    @pytest.mark.parametrize("name", ["word/media/logo.png", "customXml/item1.dat", "docProps/thumb"])
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le"])
    def test_entity_bomb_in_a_part_with_an_innocent_name(
        self, tmp_path: Path, name: str, encoding: str
    ) -> None:
        # The check used to look at names ending .xml/.rels/.vml only; parts are XML by content.
        payload = BILLION_LAUGHS.encode(encoding)
        docx_file = ff.rewrite_zip(ff.make_docx(tmp_path), tmp_path / "laughs.docx", {name: payload})
        with pytest.raises(ParseError) as caught:
            parse_docx(docx_file.read_bytes(), LIMITS)
        assert caught.value.code == "xml_dtd_forbidden"
        assert name in str(caught.value)

    @pytest.mark.parametrize(
        "payload",
        [
            # libxml2 decodes UTF-7, where "<!ENTITY" is "+ADw-!ENTITY" and escapes a byte scan
            b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE d +AFs-+ADw-!ENTITY x "y"+AD4-+AF0-+AD4-<d/>',
            BILLION_LAUGHS.encode("utf-32"),
            BILLION_LAUGHS.encode("utf-32-le"),
            BILLION_LAUGHS.encode("cp500"),  # EBCDIC
        ],
    )
    def test_xml_in_an_unscannable_encoding_is_refused(self, tmp_path: Path, payload: bytes) -> None:
        docx_file = ff.rewrite_zip(
            ff.make_docx(tmp_path), tmp_path / "enc.docx", {"word/media/a.bin": payload}
        )
        with pytest.raises(ParseError) as caught:
            parse_docx(docx_file.read_bytes(), LIMITS)
        assert caught.value.code == "xml_encoding_forbidden"

    def test_binary_parts_are_not_taken_for_xml(self, tmp_path: Path) -> None:
        image = b"\x89PNG\r\n\x1a\n" + b"<!DOCTYPE inside pixel data" + bytes(64)
        docx_file = ff.rewrite_zip(ff.make_docx(tmp_path), tmp_path / "img.docx", {"word/media/a.png": image})
        assert parse_docx(docx_file.read_bytes(), LIMITS).blocks

    def test_not_a_zip(self) -> None:
        with pytest.raises(ParseError) as caught:
            parse_docx(b"plain text, not a document", LIMITS)
        assert str(caught.value) == "올바른 Word(DOCX) 파일이 아닙니다 / Not a valid Word (DOCX) file"

    def test_zip_without_content_types(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("word/document.xml", "<x/>")
        with pytest.raises(ParseError):
            parse_docx(buffer.getvalue(), LIMITS)

    def test_too_many_members(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            for n in range(MAX_MEMBERS):
                archive.writestr(f"m/{n}", "")
        with pytest.raises(ParseError) as caught:
            open_ooxml(buffer.getvalue(), LIMITS)
        assert caught.value.code == "too_many_members"

    def test_password_protected_office_file(self) -> None:
        ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100) + "EncryptedPackage".encode("utf-16-le")
        with pytest.raises(EncryptedDocumentError):
            parse_docx(ole, LIMITS)
        with pytest.raises(ParseError):
            parse_xlsx(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), LIMITS)


# --- docx ---------------------------------------------------------------------------------------


class TestDocx:
    def test_exact_extraction_in_body_order(self, tmp_path: Path) -> None:
        doc = parse_docx(ff.make_docx(tmp_path).read_bytes(), LIMITS)
        assert doc.title == "취업규칙"
        assert shape(doc.blocks) == [
            (H, 1, "제1장 총칙"),
            (H, 3, "제12조(연차휴가)"),
            (P, 0, ff.ARTICLE_12_BODY),
            (H, 2, "수당"),
            (L, 1, "식대는 매월 지급한다"),
            (L, 2, "교통비는 실비로 지급한다"),
            (T, 0, PAY_TABLE_MD.replace("200,000원 |", "200,000원 (비과세) |")),
            (P, 0, "부칙: 이 규칙은 2024년 1월 1일부터 시행한다.\n개정 2024. 3. 1."),
            (T, 0, "| 기간 | 기간 | 비고 |\n| --- | --- | --- |\n| 상반기 | 하반기 | a\\|b |"),
        ]
        assert all(b.page is None for b in doc.blocks)

    def test_korean_style_names(self, tmp_path: Path) -> None:
        import docx
        from docx.enum.style import WD_STYLE_TYPE

        document = docx.Document()
        document.styles.add_style("제목 2", WD_STYLE_TYPE.PARAGRAPH)
        document.styles.add_style("목차 1", WD_STYLE_TYPE.PARAGRAPH)
        document.add_paragraph("제1장 근무\t3", style="목차 1")
        document.add_paragraph("근무 시간", style="제목 2")
        document.add_paragraph("오전 9시부터 오후 6시까지")
        path = tmp_path / "ko.docx"
        document.save(str(path))
        doc = parse_docx(path.read_bytes(), LIMITS)
        assert shape(doc.blocks) == [(H, 2, "근무 시간"), (P, 0, "오전 9시부터 오후 6시까지")]
        assert doc.title is None

    def test_empty_document_has_no_text(self, tmp_path: Path) -> None:
        import docx

        path = tmp_path / "empty.docx"
        docx.Document().save(str(path))
        with pytest.raises(NoTextError):
            parse_docx(path.read_bytes(), LIMITS)


# --- pptx ---------------------------------------------------------------------------------------


class TestPptx:
    def test_slides(self, tmp_path: Path) -> None:
        doc = parse_pptx(ff.make_pptx(tmp_path).read_bytes(), LIMITS)
        assert doc.title == "2024년 사업 계획"
        assert shape(doc.blocks) == [
            (H, 1, "2024년 사업 계획"),
            (L, 1, "매출 목표 달성"),
            (L, 2, "신규 고객 100곳 확보"),
            (T, 0, PAY_TABLE_MD),
            (P, 0, "발표자 노트: 예산은 다음 회의에서 확정"),
            (H, 1, "감사합니다"),
            (P, 0, "문의: 기획팀"),
        ]
        first, second = (1, "2024년 사업 계획"), (2, "감사합니다")
        assert [(b.page, b.location) for b in doc.blocks] == [first] * 5 + [second] * 2

    def test_slide_limit(self, tmp_path: Path) -> None:
        with pytest.raises(LimitExceededError):
            parse_pptx(ff.make_pptx(tmp_path).read_bytes(), ParseLimits(max_pages=1))

    def test_docx_given_as_pptx(self, tmp_path: Path) -> None:
        with pytest.raises(ParseError) as caught:
            parse_pptx(ff.make_docx(tmp_path).read_bytes(), LIMITS)
        assert "PowerPoint (PPTX)" in caught.value.message_en


# --- xlsx ---------------------------------------------------------------------------------------


class TestXlsx:
    def test_sheets_and_tables(self, tmp_path: Path) -> None:
        doc = parse_xlsx(ff.make_xlsx(tmp_path).read_bytes(), LIMITS)
        assert doc.title == "인사 자료"
        pay_heading, pay_table, roster_heading, *roster = doc.blocks
        assert (pay_heading.kind, pay_heading.level, pay_heading.text) == (H, 1, "급여")
        assert pay_table.text == PAY_TABLE_MD + "\n| 합계 | 2200000 |"
        assert (pay_table.page, pay_table.location) == (1, "급여")
        assert (roster_heading.text, roster_heading.page, roster_heading.location) == ("명단", 2, "명단")
        assert [b.kind for b in roster] == [T, T, T]
        assert all(b.text.startswith("| 번호 | 이름 |\n| --- | --- |\n| ") for b in roster)
        assert [b.text.count("\n") - 1 for b in roster] == [50, 50, 20]
        assert roster[2].text.endswith("| 120 | 직원120 |")
        assert "빈 시트" not in doc.text

    def test_sheet_limit(self, tmp_path: Path) -> None:
        with pytest.raises(LimitExceededError):
            parse_xlsx(ff.make_xlsx(tmp_path).read_bytes(), ParseLimits(max_pages=2))

    def test_far_away_row_hits_cell_budget(self, tmp_path: Path) -> None:
        source = ff.make_xlsx(tmp_path)
        sheet = (
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
            b'<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>y</t></is></c></row>'
            b"</sheetData></worksheet>"
        )
        data = ff.rewrite_zip(source, tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": sheet}).read_bytes()
        with pytest.raises(LimitExceededError) as caught:
            parse_xlsx(data, ParseLimits(max_decompressed_bytes=256 * 1024))
        assert caught.value.code == "too_many_cells"

    @pytest.mark.parametrize(
        ("value", "text"),
        [(None, ""), (3.0, "3"), (2.5, "2.5"), (True, "TRUE"), ("  문자 ", "  문자 ")],
    )
    def test_format_cell(self, value: object, text: str) -> None:
        assert format_cell(value) == text


# --- pdf ----------------------------------------------------------------------------------------


class TestPdf:
    def test_ascii_pdf(self, tmp_path: Path) -> None:
        doc = parse_pdf(ff.make_ascii_pdf(tmp_path).read_bytes(), LIMITS)
        assert doc.title == "Employee Handbook"
        assert [(b.kind, b.page, b.text) for b in doc.blocks] == [
            (
                P,
                1,
                "Annual leave is granted to every employee who has worked at least eighty percent "
                "of the days in the year.",
            ),
            (P, 1, "Requests go to the team lead."),
            (P, 2, "Second page text."),
        ]

    @pytest.mark.skipif(
        not ff.KOREAN_FONT.exists(),
        reason=f"Korean font {ff.KOREAN_FONT} missing (apt-get install fonts-nanum)",
    )
    def test_korean_pdf(self, tmp_path: Path) -> None:
        doc = parse_pdf(ff.make_korean_pdf(tmp_path).read_bytes(), LIMITS)
        assert doc.title == "취업규칙"
        assert shape(doc.blocks) == [
            (H, 1, "제1장 총칙"),
            (H, 3, "제12조(연차휴가)"),
            (P, 0, ff.ARTICLE_12_BODY),
            (P, 0, "② 휴가는 근로자가 청구한 시기에 주어야 한다."),
        ]
        assert {b.page for b in doc.blocks} == {1}

    def test_blank_pdf_is_scanned(self, tmp_path: Path) -> None:
        with pytest.raises(NoTextError) as caught:
            parse_pdf(ff.make_blank_pdf(tmp_path).read_bytes(), LIMITS)
        assert str(caught.value) == (
            "스캔된 PDF로 보이며 텍스트 층이 없습니다 (OCR 필요) / "
            "This looks like a scanned PDF with no text layer (OCR needed)"
        )

    def test_page_limit(self, tmp_path: Path) -> None:
        with pytest.raises(LimitExceededError):
            parse_pdf(ff.make_blank_pdf(tmp_path, pages=3).read_bytes(), ParseLimits(max_pages=2))

    def test_password_required(self, tmp_path: Path) -> None:
        with pytest.raises(EncryptedDocumentError):
            parse_pdf(ff.make_encrypted_pdf(tmp_path, user_password="secret").read_bytes(), LIMITS)

    def test_owner_password_only_opens(self, tmp_path: Path) -> None:
        doc = parse_pdf(ff.make_encrypted_pdf(tmp_path, user_password="").read_bytes(), LIMITS)
        assert doc.text == "Confidential text."

    def test_not_a_pdf(self) -> None:
        with pytest.raises(ParseError):
            parse_pdf(b"%PDF-1.4 garbage", LIMITS)

    @pytest.mark.parametrize(
        ("left", "right", "space", "joined"),
        [
            ("출근한 근로", "자에게", False, "출근한 근로자에게"),
            ("정함을", "목적으로", False, "정함을 목적으로"),
            (
                "승인을 받아야 하며 출장 기간까지",
                "정산한다",
                False,
                "승인을 받아야 하며 출장 기간까지 정산한다",
            ),
            ("유급휴", "가를", False, "유급휴가를"),
            ("출근한", "근로자에게", True, "출근한 근로자에게"),
            ("1년간", "80퍼센트", False, "1년간 80퍼센트"),
            ("infor-", "mation", False, "information"),
            ("end of", "line", False, "end of line"),
        ],
    )
    def test_join_lines(self, left: str, right: str, space: bool, joined: str) -> None:
        assert join_lines(left, right, space=space) == joined

    def test_running_footer_removed(self, tmp_path: Path) -> None:
        doc = parse_pdf(ff.make_footer_pdf(tmp_path).read_bytes(), LIMITS)
        assert [(b.page, b.text) for b in doc.blocks] == [
            (1, "First page."),
            (2, "Second page."),
            (3, "Third page."),
        ]

    def test_page_blocks_drop_page_numbers_and_split_bullets(self) -> None:
        text = "- 3 -\n회사 규정 안내\n• 첫째 항목\n• 둘째 항목이 길어서 다음 줄로 넘어\n간다\n\n맺음말\n3"
        assert shape(page_blocks(text, 3)) == [
            (P, 0, "회사 규정 안내"),
            (L, 1, "• 첫째 항목"),
            (L, 1, "• 둘째 항목이 길어서 다음 줄로 넘어간다"),
            (P, 0, "맺음말"),
        ]
