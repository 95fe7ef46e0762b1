"""Page cleaning before Tesseract (ingest.ocr_preprocess, orientation in ingest.ocr) on real OCR:
a speckled, skewed JPEG scan in a serif font, and a page scanned sideways."""

from __future__ import annotations

import difflib
import re
from dataclasses import replace

import pytest

from ingest.document import ParseLimits
from ingest.ocr import tesseract_available
from ingest.parsers.image import parse_image
from tests.support.scans import GOTHIC, MYEONGJO, REGULATION, image_bytes, render_page, speckled

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not tesseract_available() or not GOTHIC.exists() or not MYEONGJO.exists(),
        reason="needs tesseract-ocr, tesseract-ocr-kor and fonts-nanum (scripts/install-system-packages.sh)",
    ),
]
AUTO = ParseLimits(ocr="auto")
RAW = replace(AUTO, ocr_preprocess=())


def accuracy(read: str) -> float:
    """Character similarity of ``read`` to the regulation, spaces ignored."""
    source, text = (re.sub(r"\s+", "", t) for t in (" ".join(REGULATION), read))
    return difflib.SequenceMatcher(None, source, text, autojunk=False).ratio()


def test_speckled_skewed_jpeg_scan_is_read_after_cleaning() -> None:
    page = speckled(render_page(REGULATION, font=MYEONGJO, skew=3.0), seed=1)
    data = image_bytes(page, "JPEG")
    cleaned = parse_image(data, AUTO).text
    assert accuracy(cleaned) >= 0.97
    flat = re.sub(r"\s+", "", cleaned)
    for figure in ("15일", "50만원", "3만원", "2026년3월1일"):
        assert figure in flat
    assert accuracy(parse_image(data, RAW).text) < accuracy(cleaned)


@pytest.mark.parametrize("turn", [90, 180])
def test_a_page_scanned_sideways_or_upside_down_is_turned(turn: int) -> None:
    data = image_bytes(render_page(REGULATION).rotate(turn, expand=True))
    assert accuracy(parse_image(data, AUTO).text) >= 0.95
    without = replace(AUTO, ocr_preprocess=("denoise", "resample", "deskew"))
    assert accuracy(parse_image(data, without).text) < 0.5
