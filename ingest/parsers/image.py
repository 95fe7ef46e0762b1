"""Image parser (PNG, JPEG, TIFF incl. multi-page, BMP, WebP): every frame OCR'd with Tesseract.

Dimensions are checked before any pixel is decoded (a decompression bomb is refused, not
allocated), a truncated or damaged file is a clear error, and frames count against the OCR page
budget. With OCR off an image has no text Jikji can read, and says so.
"""

from __future__ import annotations

import io

from PIL import Image, ImageSequence, UnidentifiedImageError

from ingest.document import Block, ParsedDocument, ParseLimits
from ingest.errors import LimitExceededError, NoTextError, ParseError
from ingest.ocr import (
    OCR_OFF,
    OcrPage,
    check_pixels,
    ocr_location,
    page_input,
    recognise_all,
    tesseract_available,
    too_many_pages,
)
from ingest.parsers.pdf import ocr_page_blocks


def parse_image(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """OCR each frame of an image into blocks with ``page`` and an OCR ``location``."""
    if limits.ocr == OCR_OFF or not tesseract_available():
        raise NoTextError(
            "image_ocr_off",
            "이미지 파일은 문자 인식(OCR)이 꺼져 있거나 설치되지 않아 읽을 수 없습니다",
            "Image files need text recognition (OCR), which is off or not installed",
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            check_pixels(image.width, image.height, limits.ocr_max_pixels)
            frames = getattr(image, "n_frames", 1)
            if frames > limits.ocr_max_pages:
                raise too_many_pages(frames, limits.ocr_max_pages)
            rendered = []
            for frame in ImageSequence.Iterator(image):
                check_pixels(frame.width, frame.height, limits.ocr_max_pixels)
                rendered.append(
                    page_input(frame, _resolution(frame), limits.ocr_preprocess, limits.ocr_max_pixels)
                )
    except Image.DecompressionBombError as exc:  # Pillow's own guard, at open: over 2 × its pixel limit
        raise LimitExceededError(
            "image_too_large",
            "이미지가 너무 큽니다 (압축 폭탄 의심)",
            "The image is too large (a decompression bomb?)",
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ParseError(
            "invalid_image",
            "이미지 파일이 손상되었거나 읽을 수 없습니다",
            "The image is damaged or unreadable",
        ) from exc
    recognised = recognise_all(
        rendered, limits.ocr_languages, limits.ocr_workers, orient="orient" in limits.ocr_preprocess
    )
    blocks = [
        block for number, page in enumerate(recognised, start=1) for block in _page_blocks(page, number)
    ]
    if not blocks:
        raise NoTextError(
            "image_no_text", "이미지에서 글자를 찾지 못했습니다", "No text was recognised in the image"
        )
    return ParsedDocument(blocks=blocks)


def _resolution(frame: Image.Image) -> int:
    """The frame's recorded resolution when plausible, else 300 dpi."""
    dpi = frame.info.get("dpi")
    return round(float(dpi[0])) if isinstance(dpi, tuple) and dpi and float(dpi[0]) >= 70 else 300


def _page_blocks(page: OcrPage, number: int) -> list[Block]:
    location = ocr_location(number, page.confidence)
    blocks = ocr_page_blocks(page, number)
    for block in blocks:
        block.location = location
    return blocks
