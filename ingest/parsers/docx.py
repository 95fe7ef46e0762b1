"""Word (DOCX) parser: headings, list items, paragraphs and tables in body order."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import docx
from docx.document import Document
from docx.opc.exceptions import OpcError
from docx.oxml.ns import qn
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph
from lxml import etree

from ingest.document import Block, BlockKind, ParsedDocument, ParseLimits
from ingest.errors import ParseError
from ingest.parsers.embedded_ocr import ocr_pictures
from ingest.parsers.safezip import LIBRARY_ERRORS, OoxmlKind, open_ooxml
from ingest.parsers.tables import render_table
from ingest.parsers.text import clean_line, normalize_text, require_text, split_regulation_heading

_KIND = OoxmlKind("Word(DOCX)", "Word (DOCX)")
_HEADING_STYLE_RE = re.compile(r"^(?:heading|제목)\s*(?P<level>[1-9])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "제목"})
_LIST_STYLE_RE = re.compile(r"^(?:list|목록)", re.IGNORECASE)
_TOC_STYLE_RE = re.compile(r"^(?:toc|목차)\s*\d$", re.IGNORECASE)
_STYLE_DIGIT_RE = re.compile(r"\s([1-9])$")
_NUM_ID = f"{qn('w:numPr')}/{qn('w:numId')}"
_ILVL = f"{qn('w:numPr')}/{qn('w:ilvl')}"
_MAX_STYLE_DEPTH = 10
_MAX_OUTLINE_LEVEL = 8

_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_TR, _TC = qn("w:tr"), qn("w:tc")
_BLIP, _EMBED = qn("a:blip"), qn("r:embed")
_T, _TAB, _BR, _CR = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr")
# Text in these subtrees is not part of the paragraph's own flow (text boxes, duplicated
# fallback renderings, paragraph/run properties).
_SKIP = frozenset(
    {
        qn("w:txbxContent"),
        "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback",
        qn("w:pPr"),
        qn("w:rPr"),
    },
)
_LIBRARY_ERRORS: tuple[type[Exception], ...] = (OpcError, *LIBRARY_ERRORS)


@dataclass(frozen=True, slots=True)
class _ParagraphRole:
    kind: BlockKind
    level: int = 0
    is_title: bool = False
    skip: bool = False


def parse_docx(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse a Word document into blocks in reading order.

    Headings come from "Heading N"/"제목 N" styles or an outline level; list paragraphs (numbering
    or a List style) become list items; tables become Markdown pipe tables where they stand.
    Unstyled Korean regulation headings (제N장/제N절/제N조(제목)) are recognised as in plain text.
    """
    with open_ooxml(data, limits, _KIND):
        pass
    try:
        document = docx.Document(io.BytesIO(data))
        return _read_document(document, limits)
    except _LIBRARY_ERRORS as exc:
        raise ParseError(
            "invalid_docx", f"올바른 {_KIND.name_ko} 파일이 아닙니다", f"Not a valid {_KIND.name_en} file"
        ) from exc


def _read_document(document: Document, limits: ParseLimits) -> ParsedDocument:
    blocks: list[Block] = []
    pictures: list[tuple[int, bytes]] = []  # (where in ``blocks`` it stands, image bytes)
    style_title: str | None = None
    for element in _body_elements(document.element.body):
        pictures.extend((len(blocks), blob) for blob in _picture_blobs(document, element))
        if element.tag == _TBL:
            table = _table_text(element)
            if table:
                blocks.append(Block(table, BlockKind.TABLE))
            continue
        paragraph = Paragraph(element, document)
        text = _paragraph_text(element)
        if not text:
            continue
        role = _paragraph_role(paragraph, element)
        if role.skip:
            continue
        if role.is_title and style_title is None:
            style_title = clean_line(text)
        blocks.extend(_paragraph_blocks(text, role))
    title = clean_line(document.core_properties.title or "") or style_title
    recognised = ocr_pictures(pictures, limits, paged=False)
    for position in sorted(recognised, reverse=True):  # from the end, so positions stay valid
        blocks[position:position] = recognised[position]
    return require_text(ParsedDocument(blocks=blocks, title=title or None), "Word 문서", "Word document")


def _picture_blobs(document: Document, element: etree._Element) -> list[bytes]:
    """The images drawn in a paragraph or table (``a:blip`` references), for OCR."""
    blobs = []
    for blip in element.iter(_BLIP):
        part = document.part.related_parts.get(blip.get(_EMBED) or "")
        blob = getattr(part, "blob", None)
        if isinstance(blob, bytes):
            blobs.append(blob)
    return blobs


def _body_elements(container: etree._Element) -> Iterator[etree._Element]:
    """Yield body paragraphs and tables in document order, looking inside content controls."""
    for child in container.iterchildren():
        if child.tag in (_P, _TBL):
            yield child
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _body_elements(content)


def _paragraph_blocks(text: str, role: _ParagraphRole) -> list[Block]:
    if role.kind is not BlockKind.PARAGRAPH:
        heading_or_item = " ".join(text.split()) if role.kind is BlockKind.HEADING else text
        return [Block(heading_or_item, role.kind, level=role.level)]
    heading = split_regulation_heading(text.split("\n", 1)[0])
    if heading is None:
        return [Block(text)]
    level, head, rest = heading
    remainder = "\n".join(part for part in (rest, *text.split("\n")[1:]) if part.strip())
    blocks = [Block(head, BlockKind.HEADING, level=level)]
    if remainder:
        blocks.append(Block(remainder))
    return blocks


def _paragraph_role(paragraph: Paragraph, p: etree._Element) -> _ParagraphRole:
    styles = list(_style_chain(paragraph.style))
    for style in styles:
        name = (style.name or "").strip()
        if _TOC_STYLE_RE.match(name):  # table-of-contents entries repeat the headings
            return _ParagraphRole(BlockKind.PARAGRAPH, skip=True)
        match = _HEADING_STYLE_RE.match(name)
        if match:
            return _ParagraphRole(BlockKind.HEADING, int(match.group("level")))
        if name.lower() in _TITLE_STYLES:
            return _ParagraphRole(BlockKind.HEADING, 1, is_title=True)
    outline = _outline_level(p, styles)
    if outline is not None:
        return _ParagraphRole(BlockKind.HEADING, outline)
    list_level = _list_level(p, styles)
    if list_level is not None:
        return _ParagraphRole(BlockKind.LIST_ITEM, list_level)
    return _ParagraphRole(BlockKind.PARAGRAPH)


def _style_chain(style: ParagraphStyle | None) -> Iterator[ParagraphStyle]:
    """The paragraph's style followed by the styles it is based on (bounded against cycles)."""
    for _ in range(_MAX_STYLE_DEPTH):
        if style is None:
            return
        yield style
        base = style.base_style
        style = base if isinstance(base, ParagraphStyle) else None


def _ppr_value(element: etree._Element, path: str) -> str | None:
    """Read ``w:val`` of ``w:pPr/<path>`` on a paragraph or style element."""
    ppr = element.find(qn("w:pPr"))
    if ppr is None:
        return None
    node = ppr.find(path)
    return None if node is None else node.get(qn("w:val"))


def _outline_level(p: etree._Element, styles: list[ParagraphStyle]) -> int | None:
    for element in (p, *(style.element for style in styles)):
        value = _ppr_value(element, qn("w:outlineLvl"))
        if value is not None:
            level = _to_int(value)
            return level + 1 if level is not None and 0 <= level <= _MAX_OUTLINE_LEVEL else None
    return None


def _list_level(p: etree._Element, styles: list[ParagraphStyle]) -> int | None:
    """1-based nesting depth when the paragraph is numbered or bulleted, else ``None``.

    The depth is the numbering level (``w:ilvl``) of the paragraph or its style, else the digit
    ending a list style name ("List Bullet 2"), else 1.
    """
    elements = [p, *(style.element for style in styles)]
    num_id = _first_ppr_value(elements, _NUM_ID)
    list_styles = [s for s in styles if _LIST_STYLE_RE.match(s.name or "")]
    if num_id in (None, "0") and not list_styles:
        return None
    ilvl = _to_int(_first_ppr_value(elements, _ILVL) or "")
    if ilvl is not None:
        return min(ilvl, _MAX_OUTLINE_LEVEL) + 1
    suffix = _STYLE_DIGIT_RE.search(list_styles[0].name or "") if list_styles else None
    return int(suffix.group(1)) if suffix else 1


def _first_ppr_value(elements: list[etree._Element], path: str) -> str | None:
    return next((v for element in elements if (v := _ppr_value(element, path)) is not None), None)


def _to_int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _paragraph_text(p: etree._Element) -> str:
    """A paragraph's visible text, with tracked insertions, hyperlinks and fields included."""
    pieces: list[str] = []
    _collect_text(p, pieces)
    text = normalize_text("".join(pieces))
    lines = (line.replace("\t", " ").strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _collect_text(element: etree._Element, pieces: list[str]) -> None:
    for child in element.iterchildren():
        tag = child.tag
        if tag in _SKIP or not isinstance(tag, str):
            continue
        if tag == _T:
            pieces.append(child.text or "")
        elif tag == _TAB:
            pieces.append("\t")
        elif tag in (_BR, _CR):
            pieces.append("\n")
        else:
            _collect_text(child, pieces)
            if tag == _P:
                pieces.append("\n")


def _table_text(tbl: etree._Element) -> str:
    """Render a table as a pipe table; merged cells repeat their text in each covered slot."""
    rows: list[list[str]] = []
    for tr in tbl.iterchildren(_TR):
        row: list[str] = []
        for tc in _row_cells(tr):
            text = _cell_text(tc)
            span = _to_int(_tc_property(tc, "w:gridSpan") or "1") or 1
            if _tc_property(tc, "w:vMerge") == "continue" and rows:
                above = rows[-1]
                text = above[len(row)] if len(row) < len(above) else ""
            row.extend([text] * max(1, min(span, 64)))
        if row:
            rows.append(row)
    return render_table(rows) if any(cell for row in rows for cell in row) else ""


def _row_cells(tr: etree._Element) -> Iterator[etree._Element]:
    """The row's cells, including cells wrapped in content controls."""
    for child in tr.iterchildren():
        if child.tag == _TC:
            yield child
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from content.iterchildren(_TC)


def _tc_property(tc: etree._Element, name: str) -> str | None:
    """Value of ``w:tcPr/<name>``; a bare ``<w:vMerge/>`` means "continue"."""
    tcpr = tc.find(qn("w:tcPr"))
    node = None if tcpr is None else tcpr.find(qn(name))
    if node is None:
        return None
    return node.get(qn("w:val"), "continue" if name == "w:vMerge" else None)


def _cell_text(tc: etree._Element) -> str:
    pieces: list[str] = []
    _collect_text(tc, pieces)
    return " ".join(normalize_text("".join(pieces)).split())
