"""The parsed-document model every parser produces and the chunker consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class BlockKind(StrEnum):
    """What a block of text is, so the chunker can respect structure."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"


@dataclass(slots=True)
class Block:
    """One structural unit of a document, in reading order.

    ``page`` is the 1-based page, slide or sheet number where the format has one.
    ``location`` names the page-like unit for people (a slide title, a sheet name).
    ``level`` is the heading level (1 = top) for headings and the nesting depth for list items.
    Tables are rendered as Markdown-style pipe tables in ``text``.
    """

    text: str
    kind: BlockKind = BlockKind.PARAGRAPH
    level: int = 0
    page: int | None = None
    location: str | None = None


@dataclass(slots=True)
class ParsedDocument:
    """A document as a parser read it: a title (if the file states one) and its blocks."""

    blocks: list[Block]
    title: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """All block texts joined by blank lines (for hashing, language detection, previews)."""
        return "\n\n".join(b.text for b in self.blocks if b.text.strip())


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Bounds a parser enforces while reading untrusted input.

    ``max_decompressed_bytes`` counts bytes actually produced by decompression (zip members,
    zlib streams), never the sizes a file declares. ``max_pages`` bounds pages/slides/sheets.
    ``ocr`` is ``off``, ``auto`` (OCR PDF pages without text, and images) or ``force`` (every PDF
    page too); ``ocr_max_pages`` bounds the pages OCR'd per document, ``ocr_max_pixels`` the size
    of one page image, ``ocr_workers`` how many pages are OCR'd at once, ``ocr_preprocess`` the
    cleaning steps before Tesseract (names in :data:`ingest.ocr_preprocess.STEPS`).
    """

    max_decompressed_bytes: int = 200 * 1024 * 1024
    max_pages: int = 2000
    ocr: str = "off"
    ocr_max_pages: int = 50
    ocr_dpi: int = 300
    ocr_languages: str = "kor+eng"
    ocr_max_pixels: int = 60_000_000
    ocr_workers: int = 2
    ocr_preprocess: tuple[str, ...] = ("flatten", "denoise", "deskew", "unrule", "orient")
