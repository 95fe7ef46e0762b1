"""PowerPoint (PPTX) parser: one run of blocks per slide, titles, bullets, tables and notes.

Pictures that may hold text (screenshots, pasted scans) are read by OCR when ``limits.ocr`` is on
(:mod:`ingest.parsers.embedded_ocr`); their blocks follow the slide's own.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
from pptx.exc import PythonPptxError
from pptx.presentation import Presentation
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape
from pptx.shapes.picture import Picture
from pptx.slide import Slide
from pptx.text.text import TextFrame, _Paragraph

from ingest.document import Block, BlockKind, ParsedDocument, ParseLimits
from ingest.errors import LimitExceededError, ParseError
from ingest.parsers.embedded_ocr import ocr_pictures
from ingest.parsers.safezip import LIBRARY_ERRORS, OoxmlKind, open_ooxml
from ingest.parsers.tables import render_table
from ingest.parsers.text import normalize_text, require_text

logger = logging.getLogger(__name__)
_KIND = OoxmlKind("PowerPoint(PPTX)", "PowerPoint (PPTX)")
_NOTES_PREFIX = "발표자 노트: "
_A_NS = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_BULLET_TAGS = (f"{_A_NS}buChar", f"{_A_NS}buAutoNum", f"{_A_NS}buBlip")
_BULLETED_PLACEHOLDERS = frozenset({PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT})
_LIBRARY_ERRORS: tuple[type[Exception], ...] = (PythonPptxError, *LIBRARY_ERRORS)
_PICTURE_ERRORS: tuple[type[Exception], ...] = (*_LIBRARY_ERRORS, ValueError)


def parse_pptx(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse a presentation: each slide's blocks carry ``page`` (slide number) and ``location``.

    The title placeholder becomes a level-1 heading, other text frames paragraphs or list items
    (by bullet and indent level), tables pipe tables, and speaker notes a paragraph prefixed
    with "발표자 노트: ". More slides than ``limits.max_pages`` raise :class:`LimitExceededError`.
    """
    with open_ooxml(data, limits, _KIND):
        pass
    try:
        presentation = pptx.Presentation(io.BytesIO(data))
        return _read_presentation(presentation, limits)
    except _LIBRARY_ERRORS as exc:
        raise ParseError(
            "invalid_pptx", f"올바른 {_KIND.name_ko} 파일이 아닙니다", f"Not a valid {_KIND.name_en} file"
        ) from exc


def _read_presentation(presentation: Presentation, limits: ParseLimits) -> ParsedDocument:
    slides = presentation.slides
    if len(slides) > limits.max_pages:
        raise LimitExceededError(
            "too_many_pages",
            f"슬라이드가 너무 많습니다 ({len(slides):,}장, 최대 {limits.max_pages:,}장)",
            f"Too many slides ({len(slides):,}, at most {limits.max_pages:,})",
        )
    per_slide: list[list[Block]] = []
    pictures: list[tuple[int, bytes]] = []
    first_title: str | None = None
    for number, slide in enumerate(slides, start=1):
        title = _slide_title(slide)
        first_title = first_title or title
        per_slide.append(_slide_blocks(slide, number, title))
        pictures.extend((number, blob) for blob in _picture_blobs(slide))
    recognised = ocr_pictures(pictures, limits)
    blocks = [
        block
        for number, own in enumerate(per_slide, start=1)
        for block in (*own, *recognised.get(number, []))
    ]
    title = " ".join((presentation.core_properties.title or "").split()) or first_title
    return require_text(ParsedDocument(blocks=blocks, title=title), "프레젠테이션", "presentation")


def _slide_title(slide: Slide) -> str | None:
    shape = slide.shapes.title
    if shape is None or not shape.has_text_frame:
        return None
    return " ".join(normalize_text(shape.text_frame.text).split()) or None


def _slide_blocks(slide: Slide, number: int, title: str | None) -> list[Block]:
    blocks: list[Block] = []
    if title:
        blocks.append(Block(title, BlockKind.HEADING, level=1, page=number, location=title))
    title_shape = slide.shapes.title
    title_id = title_shape.shape_id if title_shape is not None else None
    for shape in _reading_order(slide.shapes):
        if shape.shape_id != title_id:
            blocks.extend(_shape_blocks(shape))
    notes = _notes_text(slide)
    if notes:
        blocks.append(Block(_NOTES_PREFIX + notes))
    for block in blocks:
        block.page, block.location = number, title
    return blocks


def _picture_blobs(slide: Slide) -> list[bytes]:
    blobs = []
    for shape in _reading_order(slide.shapes):
        if shape.shape_type == MSO_SHAPE_TYPE.PICTURE and isinstance(shape, Picture):
            try:
                blobs.append(shape.image.blob)
            except _PICTURE_ERRORS as exc:  # a linked or broken picture
                logger.warning("picture on a slide not read: %s", exc)
    return blobs


def _reading_order(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Shapes top-to-bottom, then left-to-right; group shapes are expanded in place."""
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP and isinstance(shape, GroupShape):
            yield from _reading_order(shape.shapes)
        else:
            yield shape


def _shape_blocks(shape: BaseShape) -> list[Block]:
    if isinstance(shape, GraphicFrame) and shape.has_table:
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        rendered = render_table([[normalize_text(c) for c in row] for row in rows])
        return [Block(rendered, BlockKind.TABLE)] if rendered.strip("|- \n") else []
    if not shape.has_text_frame:
        return []
    text_frame: TextFrame = shape.text_frame  # type: ignore[attr-defined]
    bulleted = _is_bulleted_placeholder(shape)
    return [block for p in text_frame.paragraphs if (block := _paragraph_block(p, bulleted=bulleted))]


def _is_bulleted_placeholder(shape: BaseShape) -> bool:
    if not shape.is_placeholder:
        return False
    return shape.placeholder_format.type in _BULLETED_PLACEHOLDERS


def _paragraph_block(paragraph: _Paragraph, *, bulleted: bool) -> Block | None:
    text = "\n".join(
        line.strip()
        for line in normalize_text(paragraph.text.replace("\v", "\n")).split("\n")
        if line.strip()
    )
    if not text:
        return None
    ppr = paragraph._p.pPr  # python-pptx has no public bullet API
    explicit_bullet = ppr is not None and any(ppr.find(tag) is not None for tag in _BULLET_TAGS)
    no_bullet = ppr is not None and ppr.find(f"{_A_NS}buNone") is not None
    if paragraph.level > 0 or explicit_bullet or (bulleted and not no_bullet):
        return Block(text, BlockKind.LIST_ITEM, level=paragraph.level + 1)
    return Block(text)


def _notes_text(slide: Slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    if frame is None:
        return ""
    lines = (line.strip() for line in normalize_text(frame.text.replace("\v", "\n")).split("\n"))
    return "\n".join(line for line in lines if line)
