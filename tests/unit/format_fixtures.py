"""Build small office/PDF test documents at test time (nothing binary is committed).

Each ``make_*`` function writes one file into ``directory`` and returns its path.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import openpyxl
import pptx
from docx.enum.text import WD_BREAK
from fpdf import FPDF
from pptx.util import Inches

KOREAN_FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")

ARTICLE_12 = "제12조(연차휴가) ① 회사는 1년간 80퍼센트 이상 출근한 근로자에게 15일의 유급휴가를 준다."
ARTICLE_12_BODY = "① 회사는 1년간 80퍼센트 이상 출근한 근로자에게 15일의 유급휴가를 준다."
PAY_TABLE = [["구분", "금액"], ["기본급", "2,000,000원"], ["식대", "200,000원"]]


def make_docx(directory: Path) -> Path:
    """A Korean regulation: heading, article, bullet list, table (mid-body) and a closing line."""
    document = docx.Document()
    document.core_properties.title = "취업규칙"
    document.add_heading("제1장 총칙", level=1)
    document.add_paragraph(ARTICLE_12)
    document.add_heading("수당", level=2)
    document.add_paragraph("식대는 매월 지급한다", style="List Bullet")
    document.add_paragraph("교통비는 실비로 지급한다", style="List Bullet 2")
    table = document.add_table(rows=len(PAY_TABLE), cols=2)
    for row, values in zip(table.rows, PAY_TABLE, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    table.rows[2].cells[1].add_paragraph("(비과세)")
    paragraph = document.add_paragraph("부칙: 이 규칙은 2024년 1월 1일부터 시행한다.")
    paragraph.add_run().add_break(WD_BREAK.LINE)
    paragraph.add_run("개정 2024. 3. 1.")
    merged = document.add_table(rows=2, cols=3)
    top = merged.cell(0, 0).merge(merged.cell(0, 1))
    top.text = "기간"
    merged.cell(0, 2).text = "비고"
    merged.cell(1, 0).text = "상반기"
    merged.cell(1, 1).text = "하반기"
    merged.cell(1, 2).text = "a|b"
    path = directory / "rules.docx"
    document.save(str(path))
    return path


def make_pptx(directory: Path) -> Path:
    """Two slides: title + bullets + table + speaker notes, then a title-only slide."""
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "2024년 사업 계획"
    body = slide.placeholders[1].text_frame
    body.text = "매출 목표 달성"
    sub = body.add_paragraph()
    sub.text = "신규 고객 100곳 확보"
    sub.level = 1
    rows = slide.shapes.add_table(3, 2, Inches(1), Inches(5), Inches(6), Inches(1.5)).table
    for r, values in enumerate(PAY_TABLE):
        for c, value in enumerate(values):
            rows.cell(r, c).text = value
    slide.notes_slide.notes_text_frame.text = "예산은 다음 회의에서 확정"
    closing = presentation.slides.add_slide(presentation.slide_layouts[5])
    closing.shapes.title.text = "감사합니다"
    box = closing.shapes.add_textbox(Inches(1), Inches(3), Inches(5), Inches(1))
    box.text_frame.text = "문의: 기획팀"
    path = directory / "plan.pptx"
    presentation.save(str(path))
    return path


def make_xlsx(directory: Path, *, long_rows: int = 120) -> Path:
    """Sheet "급여" (blank lead row/column, a blank middle row) and a long sheet "명단"."""
    workbook = openpyxl.Workbook()
    pay = workbook.active
    pay.title = "급여"
    for r, values in enumerate(PAY_TABLE, start=2):
        for c, value in enumerate(values, start=2):
            pay.cell(row=r, column=c, value=value)
    pay.cell(row=6, column=2, value="합계")
    pay.cell(row=6, column=3, value=2200000.0)
    roster = workbook.create_sheet("명단")
    roster.append(["번호", "이름"])
    for n in range(1, long_rows + 1):
        roster.append([n, f"직원{n}"])
    workbook.create_sheet("빈 시트")
    workbook.properties.title = "인사 자료"
    path = directory / "pay.xlsx"
    workbook.save(str(path))
    return path


def _pdf(*, title: str | None = None) -> FPDF:
    pdf = FPDF()
    pdf.set_auto_page_break(auto=False)
    if title:
        pdf.set_title(title)
    return pdf


def _write_lines(pdf: FPDF, lines: list[str]) -> None:
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")


def make_ascii_pdf(directory: Path) -> Path:
    """Two pages in the core Helvetica font; page 1 has a wrapped paragraph then another one."""
    pdf = _pdf(title="Employee Handbook")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    _write_lines(
        pdf,
        [
            "Annual leave is granted to every employee who has worked at least eighty percent of",
            "the days in the year.",
            "Requests go to the team lead.",
        ],
    )
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    _write_lines(pdf, ["Second page text."])
    path = directory / "handbook.pdf"
    pdf.output(str(path))
    return path


def make_korean_pdf(directory: Path) -> Path:
    """A Korean regulation page whose article wraps inside a word (출근한 근로|자에게)."""
    pdf = _pdf(title="취업규칙")
    pdf.add_font("NanumGothic", "", str(KOREAN_FONT))
    pdf.add_page()
    pdf.set_font("NanumGothic", size=11)
    _write_lines(
        pdf,
        [
            "제1장 총칙",
            "제12조(연차휴가) ① 회사는 1년간 80퍼센트 이상 출근한 근로",
            "자에게 15일의 유급휴가를 준다.",
            "② 휴가는 근로자가 청구한 시기에 주어야 한다.",
        ],
    )
    path = directory / "rules.pdf"
    pdf.output(str(path))
    return path


def make_footer_pdf(directory: Path) -> Path:
    """Three pages, each with a running header and a "Handbook - N / 3" footer."""
    pdf = _pdf()
    pdf.set_font("Helvetica", size=11)
    for number, body in enumerate(["First page.", "Second page.", "Third page."], start=1):
        pdf.add_page()
        _write_lines(pdf, ["ACME Handbook", body, f"Handbook - {number} / 3"])
    path = directory / "footer.pdf"
    pdf.output(str(path))
    return path


def make_blank_pdf(directory: Path, pages: int = 1) -> Path:
    """Pages with no text at all, like a scan without OCR."""
    pdf = _pdf()
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(20, 20, 100, 100)
    path = directory / f"blank{pages}.pdf"
    pdf.output(str(path))
    return path


def make_encrypted_pdf(directory: Path, *, user_password: str) -> Path:
    """An RC4-encrypted PDF; an empty ``user_password`` opens without a password."""
    pdf = _pdf()
    pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    _write_lines(pdf, ["Confidential text."])
    path = directory / f"encrypted-{bool(user_password)}.pdf"
    pdf.output(str(path))
    return path


def rewrite_zip(source: Path, target: Path, replace: dict[str, bytes], *, compress: bool = True) -> Path:
    """Copy a zip, replacing or adding the members named in ``replace``."""
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(buffer, "w", method) as new:
        for info in old.infolist():
            if info.filename not in replace:
                new.writestr(info, old.read(info.filename))
        for name, data in replace.items():
            new.writestr(name, data)
    target.write_bytes(buffer.getvalue())
    return target


def make_zip_bomb_docx(directory: Path, size: int = 50 * 1024 * 1024) -> Path:
    """A valid DOCX plus one member of ``size`` zero bytes (compresses to ~50 KB)."""
    return rewrite_zip(make_docx(directory), directory / "bomb.docx", {"word/media/zeros.bin": bytes(size)})


def make_lying_zip_docx(directory: Path, size: int = 5 * 1024 * 1024) -> Path:
    """A zip bomb whose member declares a tiny uncompressed size in its headers."""
    bomb = make_zip_bomb_docx(directory, size)
    data = bytearray(bomb.read_bytes())
    name = b"word/media/zeros.bin"
    with zipfile.ZipFile(bomb) as archive:
        info = archive.getinfo(name.decode())
    fake = (100).to_bytes(4, "little")
    # local header: uncompressed size at offset 22; central directory entry: at offset 24
    local = info.header_offset
    data[local + 22 : local + 26] = fake
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[central + 24 : central + 28] = fake
    path = directory / "lying.docx"
    path.write_bytes(bytes(data))
    return path


def make_xxe_docx(directory: Path) -> Path:
    """A DOCX whose main part declares an external entity."""
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
    )
    return rewrite_zip(make_docx(directory), directory / "xxe.docx", {"word/document.xml": payload})
