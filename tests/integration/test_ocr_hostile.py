"""Hostile images fail clearly within the limits (issue 21), beyond the cases in test_ocr.py: a
truncated JPEG, a PNG whose header claims a huge size, a multi-page TIFF with one huge frame, a
bomb pasted into an HWPX (skipped, the text kept) and a PDF page far larger than A4 (rendered under
the pixel limit, preprocessing included)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from ingest.document import ParseLimits
from ingest.errors import LimitExceededError, ParseError
from ingest.ocr import tesseract_available
from ingest.parsers.hwpx import parse_hwpx
from ingest.parsers.image import parse_image
from ingest.parsers.pdf import parse_pdf
from tests.integration.test_ocr_hwp import hwpx_with_scan
from tests.support.scans import GOTHIC, REGULATION, image_bytes, render_page

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not tesseract_available() or not GOTHIC.exists(),
        reason="needs tesseract-ocr, tesseract-ocr-kor and fonts-nanum (scripts/install-system-packages.sh)",
    ),
]
AUTO = ParseLimits(ocr="auto")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` (its data is one short row)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_truncated_jpeg_is_a_clear_error() -> None:
    data = image_bytes(render_page(REGULATION), "JPEG")
    with pytest.raises(ParseError) as caught:
        parse_image(data[: len(data) // 3], AUTO)
    assert caught.value.code == "invalid_image"
    assert caught.value.message_ko and caught.value.message_en


@pytest.mark.parametrize("size", [(200_000, 200_000), (9_000, 9_000)])
def test_a_png_claiming_a_huge_size_is_refused_before_decoding(size: tuple[int, int]) -> None:
    with pytest.raises(LimitExceededError) as caught:
        parse_image(png_claiming(*size), AUTO)
    assert caught.value.code == "image_too_large"


def test_a_tiff_with_one_huge_frame_is_refused() -> None:
    pages = [render_page(REGULATION).convert("1"), Image.new("1", (9_000, 9_000), 1)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:], compression="group4")
    with pytest.raises(LimitExceededError) as caught:
        parse_image(buffer.getvalue(), AUTO)
    assert caught.value.code == "image_too_large"


def test_a_bomb_pasted_into_an_hwpx_is_skipped() -> None:
    data = hwpx_with_scan(png_claiming(200_000, 200_000))
    parsed = parse_hwpx(data, AUTO)
    off = parse_hwpx(data, ParseLimits(ocr="off"))
    assert [block.text for block in parsed.blocks] == [
        block.text for block in off.blocks
    ]  # no OCR text, no error


def test_a_huge_pdf_page_is_rendered_under_the_pixel_limit() -> None:
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(14_400, 14_400))  # 200 × 200 inches, the largest page PDF allows
    pdf.add_page()
    pdf.image(render_page(REGULATION, dpi=100), x=0, y=0, w=14_400)
    limits = ParseLimits(ocr="auto", ocr_max_pixels=4_000_000)
    parsed = parse_pdf(bytes(pdf.output()), limits)  # 14400² pt at 300 dpi would be 3.6 Gpx
    assert parsed.blocks and all(block.page == 1 for block in parsed.blocks)
