"""OCR of pictures embedded in slides and Word documents (screenshots, pasted scans).

A picture is read only when it may hold text: at least ``MIN_SIDE_PX`` on its short side and
``MIN_LONG_PX`` on its long one, no more elongated than ``MAX_RATIO`` (icons, logos and rules are
skipped), and its recognised text is kept only with ``MIN_WORDS`` words at ``MIN_CONFIDENCE`` mean
confidence or more (a photo gives a few low-confidence "words"). Pictures count against
``limits.ocr_max_pages``; past it the rest are skipped and logged (the document's own text is
still indexed), as are pictures too large or unreadable.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, UnidentifiedImageError

from ingest.document import Block, ParseLimits
from ingest.errors import LimitExceededError
from ingest.ocr import (
    OCR_OFF,
    check_pixels,
    ocr_location,
    ocr_picture_location,
    page_input,
    recognise_all,
    tesseract_available,
)
from ingest.parsers.pdf import ocr_page_blocks

logger = logging.getLogger(__name__)

MIN_SIDE_PX, MIN_LONG_PX, MAX_RATIO = 100, 300, 12.0
MIN_WORDS, MIN_CONFIDENCE = 3, 50.0


def ocr_pictures(
    pictures: list[tuple[int, bytes]], limits: ParseLimits, *, paged: bool = True
) -> dict[int, list[Block]]:
    """Blocks recognised in ``(key, image bytes)`` pictures, by key; empty with OCR off.

    ``paged``: the key is a page (slide) number, given to the blocks; otherwise it is where the
    picture stands and the blocks are located by picture number (``그림 2 (OCR 87%)``).
    """
    if limits.ocr == OCR_OFF or not tesseract_available() or not pictures:
        return {}
    candidates: list[tuple[int, bytes, int]] = []
    for page, data in pictures:
        prepared = _prepared(data, limits)
        if prepared is None:
            continue
        if len(candidates) >= limits.ocr_max_pages:
            logger.warning("OCR budget reached: pictures from %d on are not read", page)
            break
        candidates.append((page, *prepared))
    results = recognise_all(
        [(png, dpi) for _, png, dpi in candidates],
        limits.ocr_languages,
        limits.ocr_workers,
        orient="orient" in limits.ocr_preprocess,
    )
    blocks: dict[int, list[Block]] = {}
    for number, ((key, _, _), result) in enumerate(zip(candidates, results, strict=True), start=1):
        if result.words < MIN_WORDS or result.confidence < MIN_CONFIDENCE:
            continue
        if paged:
            location = ocr_location(key, result.confidence)
        else:
            location = ocr_picture_location(number, result.confidence)
        for block in ocr_page_blocks(result, key):
            block.location, block.page = location, (key if paged else None)
            blocks.setdefault(key, []).append(block)
    return blocks


def _prepared(data: bytes, limits: ParseLimits) -> tuple[bytes, int] | None:
    """The picture as a PNG for Tesseract and its resolution, or None when it is not worth reading."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            check_pixels(image.width, image.height, limits.ocr_max_pixels)
            short, long = sorted(image.size)
            if short < MIN_SIDE_PX or long < MIN_LONG_PX or long / short > MAX_RATIO:
                return None
            return page_input(image, 300, limits.ocr_preprocess, limits.ocr_max_pixels)
    except (
        LimitExceededError,
        Image.DecompressionBombError,
        UnidentifiedImageError,
        OSError,
        ValueError,
    ) as exc:
        logger.warning("embedded picture not read: %s", exc)
        return None
