"""OCR with Tesseract (Korean + English) for scanned PDF pages and images.

Runs inside the parsing sandbox's child: the ``tesseract`` binary is called once per page through
``subprocess`` (TSV output, one OpenMP thread), so it inherits the child's address-space limit and,
being in the child's process group, is killed with it on a timeout. Each page gives its text, lines
kept and paragraphs separated by blank lines as Tesseract found them, and the mean confidence of its
words (0-100). Pages are cleaned first (:func:`page_input`, :mod:`ingest.ocr_preprocess`); a page
read poorly is checked for orientation and read again turned (:func:`recognise_oriented`).

An OCR'd page is marked on its blocks through ``location``: ``p.3 (OCR 87%)``. That is what
citations show (so a reader knows the text was recognised, and how surely), and what
:func:`parse_ocr_location` reads back to list a document's low-confidence pages.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import LimitExceededError, ParseError
from ingest.ocr_preprocess import DEFAULT_STEPS, preprocess
from ingest.ocr_tables import OcrTable, find_tables

if TYPE_CHECKING:
    from PIL.Image import Image

TESSERACT = "tesseract"
OCR_OFF, OCR_AUTO, OCR_FORCE = "off", "auto", "force"
_LOCATION_RE = re.compile(r"^p\.(\d+) \(OCR (\d{1,3})%\)$")
PageProgress = Callable[[int, int], None]
_page_progress: list[PageProgress] = []  # see report_pages_to
_PAGE_TIMEOUT_S = 300.0  # a safety net; the sandbox's own timeout normally ends a slow document first
_ORIENT_BELOW = 60.0  # a page read with a lower mean confidence is checked for being sideways
_ROTATE_RE = re.compile(r"^Rotate: (\d+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class OcrPage:
    """One recognised page: its text (lines, blank lines between paragraphs) and mean word confidence.

    ``tables``: the tables found in it (:func:`ingest.ocr_tables.find_tables`), by line of ``text``.
    """

    text: str
    confidence: float
    words: int
    tables: tuple[OcrTable, ...] = ()


def tesseract_available() -> bool:
    """Whether the ``tesseract`` binary is on the PATH."""
    return shutil.which(TESSERACT) is not None


def ocr_location(page: int, confidence: float) -> str:
    """The location an OCR'd page's blocks carry: ``p.3 (OCR 87%)``."""
    return f"p.{page} (OCR {round(confidence):d}%)"


def ocr_picture_location(number: int, confidence: float) -> str:
    """The location of text read from the ``number``-th picture of a document without pages."""
    return f"그림 {number} (OCR {round(confidence):d}%)"


def parse_ocr_location(location: str | None) -> tuple[int, float] | None:
    """The page and confidence in an :func:`ocr_location` string; None for any other location."""
    match = _LOCATION_RE.match(location or "")
    return (int(match[1]), float(match[2])) if match else None


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse an image larger than ``max_pixels`` before it is decoded (decompression bombs)."""
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise LimitExceededError(
            "image_too_large",
            f"이미지가 너무 큽니다 ({width:,}×{height:,} 픽셀, 최대 {max_pixels:,} 픽셀)",
            f"The image is too large ({width:,}×{height:,} pixels; at most {max_pixels:,})",
        )


def prepare(image: Image) -> Image:
    """Grayscale, with transparency flattened onto white (Tesseract reads dark text on light)."""
    from PIL import Image as PilImage

    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = PilImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = PilImage.alpha_composite(background, rgba)
    return image.convert("L")


def recognise(image: Image, languages: str, dpi: int) -> OcrPage:
    """OCR one page image with Tesseract; raises :class:`ParseError` when Tesseract fails.

    The text comes from Tesseract's plain-text output, which knows where Korean words end (its
    TSV splits Hangul into syllables); the confidence from its TSV. Page segmentation mode 6 (one
    uniform block of text): the automatic layout analysis (mode 3) dropped whole pages of clean
    Korean text here ("Empty page!!").
    """
    return recognise_png(page_png(image), languages, dpi)


def page_png(image: Image) -> bytes:
    """``image`` prepared for Tesseract (:func:`prepare`) and encoded as PNG."""
    buffer = io.BytesIO()
    prepare(image).save(buffer, format="PNG")
    return buffer.getvalue()


def page_input(
    image: Image, dpi: int, steps: Sequence[str] = DEFAULT_STEPS, max_pixels: int = 60_000_000
) -> tuple[bytes, int]:
    """``image`` at ``dpi`` prepared and cleaned (:func:`ingest.ocr_preprocess.preprocess`), as PNG.

    Returns the PNG and the resolution Tesseract is told (changed when the page was resampled).
    """
    cleaned, dpi = preprocess(prepare(image), dpi, steps, max_pixels)
    buffer = io.BytesIO()
    cleaned.save(buffer, format="PNG")
    return buffer.getvalue(), dpi


def report_pages_to(callback: PageProgress | None) -> None:
    """Have :func:`recognise_all` call ``callback(done, total)`` after each page (None: stop).

    Process-wide: the sandbox child, which parses one document and exits, sets it to stream page
    progress to its parent; nothing else should.
    """
    _page_progress[:] = [] if callback is None else [callback]


def recognise_all(
    pages: Sequence[tuple[bytes, int]], languages: str, workers: int, *, orient: bool = True
) -> list[OcrPage]:
    """OCR ``(png, dpi)`` pages with up to ``workers`` Tesseract processes at once, in page order.

    ``orient``: a page read poorly is checked for being sideways or upside down
    (:func:`recognise_oriented`).
    """
    read = recognise_oriented if orient else recognise_png
    results: list[OcrPage | None] = [None] * len(pages)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ocr")
    try:
        futures = {pool.submit(read, png, languages, dpi): i for i, (png, dpi) in enumerate(pages)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            for callback in _page_progress:
                callback(done, len(pages))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [page for page in results if page is not None]


def recognise_oriented(png: bytes, languages: str, dpi: int) -> OcrPage:
    """:func:`recognise_png`, and for a page read with a mean confidence under 60, orientation too.

    Tesseract's orientation detection (``--psm 0``) costs more than reading a page, so it runs
    only then; when it finds the page turned by 90, 180 or 270 degrees, the page is turned back
    and read again, and the better-confident reading is kept.
    """
    page = recognise_png(png, languages, dpi)
    if page.words == 0 or page.confidence >= _ORIENT_BELOW:
        return page
    turn = orientation(png, dpi)
    if not turn:
        return page
    from PIL import Image as PilImage

    with PilImage.open(io.BytesIO(png)) as image:
        buffer = io.BytesIO()
        image.rotate(-turn, expand=True).save(buffer, format="PNG")
    turned = recognise_png(buffer.getvalue(), languages, dpi)
    return turned if turned.confidence > page.confidence else page


def orientation(png: bytes, dpi: int) -> int:
    """Degrees (0, 90, 180, 270) to turn the page clockwise so its text stands upright.

    0 when Tesseract cannot tell (too few characters) or fails: the page is then read as it is.
    """
    try:
        done = _tesseract(["stdin", "stdout", "--dpi", str(dpi), "--psm", "0"], png)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = _ROTATE_RE.search(done.stdout.decode("utf-8", "replace"))
    return int(match[1]) % 360 if done.returncode == 0 and match else 0


def recognise_png(png: bytes, languages: str, dpi: int) -> OcrPage:
    """OCR one PNG page with Tesseract (see :func:`recognise`)."""
    with tempfile.TemporaryDirectory(prefix="jikji-ocr-") as folder:
        base = Path(folder) / "page"
        arguments = ["stdin", str(base), "-l", languages, "--dpi", str(dpi), "--psm", "6", "txt", "tsv"]
        try:
            done = _tesseract(arguments, png)
            if done.returncode != 0:
                raise _ocr_failed(done.stderr.decode("utf-8", "replace").strip()[-300:])
            text = base.with_suffix(".txt").read_text("utf-8", errors="replace")
            tsv = base.with_suffix(".tsv").read_text("utf-8", errors="replace")
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _ocr_failed(str(exc)) from exc
    confidence, words = word_confidence(tsv)
    text = text.replace("\f", "").strip()
    return OcrPage(text, confidence, words, find_tables(text, tsv))


def _tesseract(arguments: list[str], png: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run Tesseract (one OpenMP thread) with ``arguments``, the image on stdin."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    return subprocess.run(  # fixed binary and arguments, the image on stdin
        [TESSERACT, *arguments],
        input=png,
        capture_output=True,
        timeout=_PAGE_TIMEOUT_S,
        env=env,
        check=False,
    )


def word_confidence(tsv: str) -> tuple[float, int]:
    """The mean confidence (0-100) of the recognised words in Tesseract's TSV, and their number."""
    confidences: list[float] = []
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) >= 12 and fields[0] == "5" and fields[11].strip() and float(fields[10]) >= 0:
            confidences.append(float(fields[10]))
    return (sum(confidences) / len(confidences) if confidences else 0.0), len(confidences)


def too_many_pages(count: int, budget: int) -> LimitExceededError:
    """The error for a document with more pages to OCR than its budget."""
    return LimitExceededError(
        "ocr_too_many_pages",
        f"OCR이 필요한 페이지가 너무 많습니다 ({count:,}쪽, 문서당 최대 {budget:,}쪽). "
        "문서를 나누어 올리거나 텍스트 층이 있는 PDF로 저장해 주세요",
        f"Too many pages need OCR ({count:,}; at most {budget:,} per document). "
        "Split the document or upload a PDF with a text layer",
    )


def _ocr_failed(detail: str) -> ParseError:
    return ParseError(
        "ocr_failed",
        f"문자 인식(OCR)에 실패했습니다: {detail}",
        f"Text recognition (OCR) failed: {detail}",
    )
