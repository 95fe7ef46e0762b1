"""OCR for the PDF pages that have no text layer (or every page, with OCR forced).

A page is rendered with PDFium at ``limits.ocr_dpi`` (less when that would pass
``limits.ocr_max_pixels``) and read by Tesseract, up to ``limits.ocr_workers`` pages at once. In
``auto`` mode only pages with almost no extracted text and at least one image are OCR'd, so blank
separator pages cost nothing.
"""

from __future__ import annotations

import math
import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingest.document import ParseLimits
from ingest.errors import ParseError
from ingest.ocr import (
    OCR_FORCE,
    OCR_OFF,
    OcrPage,
    page_input,
    recognise_all,
    tesseract_available,
    too_many_pages,
)

_MIN_TEXT_CHARS = 10  # fewer visible characters than this: the page is treated as having no text
_SPACE_RE = re.compile(r"\s+")


def ocr_pdf_pages(data: bytes, texts: list[str], limits: ParseLimits) -> dict[int, OcrPage]:
    """The OCR'd pages (1-based page number → result); empty when OCR is off or not installed.

    Raises :class:`LimitExceededError` when more pages need OCR than ``limits.ocr_max_pages``.
    """
    if limits.ocr == OCR_OFF or not tesseract_available():
        return {}
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ParseError("invalid_pdf", "올바른 PDF 파일이 아닙니다", "Not a valid PDF file") from exc
    try:
        wanted = [n for n in range(1, len(texts) + 1) if _needs_ocr(pdf, n, texts[n - 1], limits)]
        if len(wanted) > limits.ocr_max_pages:
            raise too_many_pages(len(wanted), limits.ocr_max_pages)
        rendered = [_render(pdf, number, limits) for number in wanted]  # PDFium: one thread
    finally:
        pdf.close()
    orient = "orient" in limits.ocr_preprocess
    recognised = recognise_all(rendered, limits.ocr_languages, limits.ocr_workers, orient=orient)
    return dict(zip(wanted, recognised, strict=True))


def _needs_ocr(pdf: pdfium.PdfDocument, number: int, text: str, limits: ParseLimits) -> bool:
    if limits.ocr == OCR_FORCE:
        return True
    if len(_SPACE_RE.sub("", text)) >= _MIN_TEXT_CHARS:
        return False
    page = pdf[number - 1]
    try:
        return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
    finally:
        page.close()


def _render(pdf: pdfium.PdfDocument, number: int, limits: ParseLimits) -> tuple[bytes, int]:
    """The page as a cleaned grayscale PNG for Tesseract, and its resolution."""
    page = pdf[number - 1]
    try:
        width, height = page.get_size()
        scale = limits.ocr_dpi / 72
        if width * height * scale * scale > limits.ocr_max_pixels:
            scale = math.sqrt(limits.ocr_max_pixels / max(width * height, 1.0))
        image = page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()
    return page_input(image, round(scale * 72), limits.ocr_preprocess, limits.ocr_max_pixels)
