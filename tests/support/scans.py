"""Korean text rendered into page images and scanned PDFs, for the OCR tests and ``bench.ocr``.

Pages are drawn with Pillow in a Hangul font from Debian's ``fonts-nanum`` at a given resolution
(A4 width), optionally rotated a few degrees like a skewed scan; a scanned PDF is made of such
images only (no text layer), a mixed one puts a real text page first.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/nanum")
GOTHIC = FONT_DIR / "NanumGothic.ttf"
MYEONGJO = FONT_DIR / "NanumMyeongjo.ttf"
A4_INCHES = (8.27, 11.69)
REGULATION = [
    "제24조(연차휴가) 회사는 1년간 80퍼센트 이상 출근한 직원에게",
    "15일의 유급휴가를 준다.",
    "제25조(경조사 휴가) 본인이 결혼하는 경우 특별휴가 5일과",
    "경조사비 50만 원을 지급한다.",
    "제26조(출장비) 국내 출장의 일비는 하루 3만 원으로 하며,",
    "숙박비는 실비로 정산한다. 이 규정은 2026년 3월 1일부터 시행한다.",
]
NOTICE = [
    "제7조(주차) 본사 지하 주차장은 임원과 장애인 차량을",
    "우선 배정하며 월 주차비는 4만 원으로 한다.",
    "제8조(시행) 이 공지는 2027년 1월 2일부터 시행한다.",
]


def render_page(
    lines: list[str], *, dpi: int = 300, font: Path = GOTHIC, points: float = 12.0, skew: float = 0.0
) -> Image.Image:
    """An A4 page at ``dpi`` with ``lines`` in ``font`` (``points`` tall), rotated by ``skew`` degrees."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    size = round(points * dpi / 72)
    face = ImageFont.truetype(str(font), size)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin, step = round(dpi * 0.9), round(size * 1.7)
    for index, line in enumerate(lines):
        draw.text((margin, margin + index * step), line, font=face, fill=0)
    if skew:
        page = page.rotate(skew, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    return page


def speckled(image: Image.Image, seed: int) -> Image.Image:
    """``image`` with a scanner's speckle: 0.5 % of pixels flipped to black or white, 2 % grey jitter."""
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.int16).copy()
    flipped = rng.random(pixels.shape) < 0.005
    pixels[flipped] = rng.choice(np.array([0, 255], dtype=np.int16), size=int(flipped.sum()))
    jittered = rng.random(pixels.shape) < 0.02
    pixels[jittered] += rng.integers(-60, 61, size=int(jittered.sum()), dtype=np.int16)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def unevenly_lit(image: Image.Image, darkest: float = 0.78) -> Image.Image:
    """``image`` lit from the right like a phone photo: brightness falling to ``darkest`` at the left edge."""
    light = np.linspace(darkest, 1.0, image.width)[np.newaxis, :]
    return Image.fromarray((np.asarray(image.convert("L"), dtype=np.float64) * light).astype(np.uint8))


def image_bytes(page: Image.Image, image_format: str = "PNG", dpi: int = 300) -> bytes:
    """``page`` encoded as ``image_format`` with its resolution recorded."""
    buffer = io.BytesIO()
    page.save(buffer, format=image_format, dpi=(dpi, dpi))
    return buffer.getvalue()


def multipage_tiff(pages: list[Image.Image], dpi: int = 300) -> bytes:
    """A multi-page TIFF of ``pages``."""
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:], dpi=(dpi, dpi))
    return buffer.getvalue()


def scanned_pdf(pages: list[Image.Image | str], dpi: int = 300) -> bytes:
    """A PDF whose pages are images (no text layer) or, for a ``str``, real text in NanumGothic."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.add_font("NanumGothic", fname=str(GOTHIC))
    for page in pages:
        pdf.add_page()
        if isinstance(page, str):
            pdf.set_font("NanumGothic", size=12)
            pdf.multi_cell(0, 8, page)
        else:
            pdf.image(page, x=0, y=0, w=pdf.w, h=pdf.h)
    return bytes(pdf.output())


def photographed(lines: list[str]) -> bytes:
    """A phone photo of a page: 2° off, lit unevenly from one side, speckled, saved as JPEG at 200 dpi."""
    lit = unevenly_lit(render_page(lines, dpi=200, skew=2.0))
    return image_bytes(speckled(lit, seed=3), "JPEG", dpi=200)


TABLE_ROWS = [
    ["구분", "지급액", "시행일"],
    ["결혼 경조사비", "500,000원", "2026.03.01"],
    ["출장 일비", "30,000원", "2026.04.15"],
    ["숙박비 한도", "120,000원", "2026.05.20"],
    ["월 주차비", "40,000원", "2027.01.02"],
]
TABLE_BEFORE = "제30조(지급 기준) 지급액은 다음 표와 같다."
TABLE_AFTER = "이 표의 금액은 세전 금액이며 매년 1월에 다시 정한다."


def render_table_page(
    rows: list[list[str]],
    *,
    dpi: int = 300,
    font: Path = GOTHIC,
    points: float = 12.0,
    skew: float = 0.0,
    ruled: bool = False,
) -> Image.Image:
    """An A4 page: a sentence, ``rows`` as a table (columns 2.4 and 2 inches apart, the first row the
    header, set off by a blank line; ``ruled``: a full grid of 1/100-inch lines round every cell),
    and a sentence after it."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    size = round(points * dpi / 72)
    face = ImageFont.truetype(str(font), size)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin, step = round(dpi * 0.9), round(size * 1.7)
    columns = [margin, margin + round(2.4 * dpi), margin + round(4.4 * dpi)]
    draw.text((margin, margin), TABLE_BEFORE, font=face, fill=0)
    for index, row in enumerate(rows):
        top = margin + (index + 2 + (index > 0)) * step
        for left, cell in zip(columns, row, strict=False):
            draw.text((left, top), cell, font=face, fill=0)
    draw.text((margin, margin + (len(rows) + 4) * step), TABLE_AFTER, font=face, fill=0)
    if ruled:
        pad, thick = round(dpi * 0.07), max(1, round(dpi / 100))
        tops = [margin + (index + 2 + (index > 0)) * step - pad for index in range(len(rows))]
        tops.append(tops[-1] + step)
        edges = [columns[0] - pad, columns[1] - pad, columns[2] - pad, width - margin]
        for top in tops:
            draw.line([(edges[0], top), (edges[-1], top)], fill=0, width=thick)
        for left in edges:
            draw.line([(left, tops[0]), (left, tops[-1])], fill=0, width=thick)
    if skew:
        page = page.rotate(skew, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    return page
