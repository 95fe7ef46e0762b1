"""PDF parser: text per page, with paragraphs rebuilt from the extracted lines.

PDF text comes out as lines, not paragraphs. Lines are joined into a paragraph until a break
is likely: a regulation heading (제N조(제목) ...), a clause or list marker (①, 1., •), or a
line that ends a sentence while stopping well short of the page's usual line width.

Korean layout may wrap between words (HWP's default) or inside a word (common in Word), and the
extracted text does not say which. Where Hangul meets Hangul, a space is put back only when
the line ends in a particle or verb ending that almost always closes a word (을, 는, 에서, 하여
...); otherwise the halves are joined, since a split word ("근로 자") harms Korean search more
than two words run together. Other line ends get a space.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError, LimitReachedError, PyPdfError

from ingest.document import Block, BlockKind, ParsedDocument, ParseLimits
from ingest.errors import EncryptedDocumentError, LimitExceededError, NoTextError, ParseError
from ingest.ocr import OcrPage, ocr_location
from ingest.parsers.pdf_ocr import ocr_pdf_pages
from ingest.parsers.tables import table_blocks
from ingest.parsers.text import clean_line, normalize_text, split_regulation_heading

logger = logging.getLogger(__name__)

_PARSE_ERRORS = (
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    OSError,
    RuntimeError,  # includes RecursionError and NotImplementedError (unknown filters)
)
_CLAUSE_RE = re.compile(r"^[\u2460-\u2473\u3260-\u327b]")  # ①-⑳, ㉠-㉻
_BULLET_RE = re.compile(r"^(?:[•·▪◦○●□■◆◇▶▷\-–]\s|(?:\d{1,2}|[가-하])[.)]\s)")
# A note (※) or an attachment caption ([별표 1]) starts a paragraph of its own.
_ATTACHMENT_RE = re.compile(r"^(?:※|[\[<〈【]\s*(?:별표|별지|서식|표)\s*\d*)")
# Page furniture: "3", "- 3 -", "2 / 4", "규정 이름 - 2 / 4", "Page 3 of 9", "3쪽".
_PAGE_NUMBER_RE = re.compile(
    r"^[-–—\s]*\d{1,4}[-–—\s]*$"
    r"|(?:^|\s[-–—|]\s*)\d{1,4}\s*/\s*\d{1,4}$"
    r"|[-–—]\s*\d{1,4}\s*[-–—]$"
    r"|^(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$"
    r"|^\d{1,4}\s*(?:쪽|페이지|면)$",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d+")
_REPEATED_EDGE_SHARE = 0.5  # an edge line on at least half the pages is a running header/footer
_SENTENCE_END_RE = re.compile(r"[.!?。:;)\]」』\"']$")
_WORD_PREFIX = "Microsoft Word - "
# Syllables and endings that close a Korean word (particles, verb endings) and rarely occur
# inside one; a line ending in them was wrapped at a space.
_WORD_FINAL_SYLLABLES = frozenset("는를을은의에와과며면고서및한할된될야터께란든던")
_WORD_FINAL_ENDINGS = (
    "까지", "부터", "으로", "에게", "에서", "하여", "되어", "하지", "되지", "않고", "이며", "이고",
    "이나", "이라", "보다", "처럼", "마다", "에는", "에도", "로서", "로써",
)  # fmt: skip
_SHORT_LINE = 0.5
_FULL_LINE = 0.8
# Control characters (but newline and tab), surrogates and private-use code points: what
# glyphs without a Unicode mapping come out as.
_INVISIBLE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\uf8ff\U000f0000-\U0010ffff]")
_SCANNED_MESSAGE = (
    "스캔된 PDF로 보이며 텍스트 층이 없습니다 (OCR 필요)",
    "This looks like a scanned PDF with no text layer (OCR needed)",
)


def parse_pdf(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse a PDF into blocks carrying their 1-based ``page``.

    Raises :class:`EncryptedDocumentError` when the PDF needs a password, :class:`LimitExceededError`
    for more than ``limits.max_pages`` pages or content streams that decompress to more than
    ``limits.max_decompressed_bytes``, and :class:`NoTextError` when no page has a text layer.
    """
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock(reader)
        page_count = len(reader.pages)
        title = _metadata_title(reader)
    except LimitReachedError as exc:
        raise LimitExceededError(
            "pdf_structure_too_large",
            "PDF 구조가 처리 한도를 넘습니다",
            "The PDF structure exceeds the processing limits",
        ) from exc
    except _PARSE_ERRORS as exc:
        raise ParseError("invalid_pdf", "올바른 PDF 파일이 아닙니다", "Not a valid PDF file") from exc
    if page_count > limits.max_pages:
        raise LimitExceededError(
            "too_many_pages",
            f"페이지가 너무 많습니다 ({page_count:,}쪽, 최대 {limits.max_pages:,}쪽)",
            f"Too many pages ({page_count:,}, at most {limits.max_pages:,})",
        )
    texts = _page_texts(reader, limits)
    recognised = ocr_pdf_pages(data, texts, limits)
    for number, ocr_page in recognised.items():
        texts[number - 1] = ocr_page.text
    pages = _strip_furniture([_page_lines(text) for text in texts])
    blocks = [
        block
        for number, lines in enumerate(pages, start=1)
        for block in (
            ocr_page_blocks(recognised[number], number)
            if number in recognised and recognised[number].tables
            else _lines_to_blocks(lines, number)
        )
    ]
    for block in blocks:
        if block.page in recognised:
            block.location = ocr_location(block.page, recognised[block.page].confidence)
    if not any(block.text.strip() for block in blocks):
        raise NoTextError("pdf_no_text_layer", *_SCANNED_MESSAGE)
    return ParsedDocument(blocks=blocks, title=title)


def _page_texts(reader: PdfReader, limits: ParseLimits) -> list[str]:
    """Extract every page's text, counting decompressed content against the limit."""
    texts: list[str] = []
    budget = limits.max_decompressed_bytes
    for number, page in enumerate(reader.pages, start=1):
        text, used = _page_text(page, number)
        budget -= used
        if budget < 0:
            raise LimitExceededError(
                "decompressed_too_large",
                "PDF 내용을 풀었을 때 크기가 허용 한도를 넘습니다",
                "The PDF content decompresses to more than the allowed size",
            )
        texts.append(text)
    return texts


def _unlock(reader: PdfReader) -> None:
    """Open an encrypted PDF with the empty user password, or explain why it cannot be read."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except (DependencyError, NotImplementedError) as exc:
        raise EncryptedDocumentError(
            "pdf_encryption_unsupported",
            "이 PDF의 암호화 방식을 지원하지 않습니다. 암호화를 해제한 뒤 다시 올려 주세요",
            "This PDF's encryption is not supported; remove the encryption and upload it again",
        ) from exc
    if not opened:
        raise EncryptedDocumentError(
            "pdf_password_required",
            "암호로 보호된 PDF입니다. 암호를 해제한 뒤 다시 올려 주세요",
            "The PDF is password-protected; remove the password and upload it again",
        )


def _metadata_title(reader: PdfReader) -> str | None:
    metadata = reader.metadata
    raw = metadata.title if metadata is not None else None
    if not isinstance(raw, str):
        return None
    title = clean_line(normalize_text(raw)).removeprefix(_WORD_PREFIX).strip()
    return title or None


def _page_text(page: PageObject, number: int) -> tuple[str, int]:
    """The page's extracted text and the decompressed size of its content stream."""
    try:
        contents = page.get_contents()
        size = len(contents.get_data()) if contents is not None else 0
        text = page.extract_text()
    except LimitReachedError as exc:
        raise LimitExceededError(
            "pdf_stream_too_large",
            f"PDF {number}쪽의 내용이 처리 한도를 넘습니다",
            f"Page {number} of the PDF exceeds the processing limits",
        ) from exc
    except _PARSE_ERRORS as exc:
        logger.warning("PDF page %d could not be read: %s", number, exc)
        return "", 0
    return _visible(normalize_text(text)), size


def _visible(text: str) -> str:
    """Drop control and private-use characters (unmapped glyphs), keeping newlines and tabs."""
    return _INVISIBLE_RE.sub("", text)


@dataclass(slots=True)
class _Line:
    text: str
    trailing_space: bool


@dataclass(slots=True)
class _PageBuilder:
    page: int
    full_width: int
    blocks: list[Block] = field(default_factory=list)
    current: list[_Line] = field(default_factory=list)
    current_kind: BlockKind = BlockKind.PARAGRAPH

    def flush(self) -> None:
        if self.current:
            text = self.current[0].text
            for previous, line in zip(self.current, self.current[1:], strict=False):
                text = join_lines(text, line.text, space=previous.trailing_space)
            level = 1 if self.current_kind is BlockKind.LIST_ITEM else 0
            self.blocks.append(Block(text, self.current_kind, level=level, page=self.page))
        self.current = []
        self.current_kind = BlockKind.PARAGRAPH

    def add(self, line: _Line) -> None:
        if not line.text:
            self.flush()
            return
        heading = split_regulation_heading(line.text)
        if heading is not None:
            self.flush()
            level, head, rest = heading
            self.blocks.append(Block(head, BlockKind.HEADING, level=level, page=self.page))
            if rest:
                self.current.append(_Line(rest, line.trailing_space))
            return
        if self._starts_new(line.text):
            self.flush()
        if not self.current and _BULLET_RE.match(line.text):
            self.current_kind = BlockKind.LIST_ITEM
        self.current.append(line)

    def _starts_new(self, text: str) -> bool:
        if not self.current:
            return False
        if _CLAUSE_RE.match(text) or _BULLET_RE.match(text) or _ATTACHMENT_RE.match(text):
            return True
        previous = self.current[-1].text
        width = display_width(previous)
        if width < _SHORT_LINE * self.full_width:
            return True
        return width < _FULL_LINE * self.full_width and bool(_SENTENCE_END_RE.search(previous))


def display_width(text: str) -> int:
    """Width in columns: East Asian wide/full-width characters count as two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def join_lines(left: str, right: str, *, space: bool = False) -> str:
    """Join two wrapped lines of one paragraph.

    A hyphenated Latin word is rejoined. Hangul meeting Hangul gets a space only when the
    extractor kept a trailing space or ``left`` ends in a word-closing particle or ending;
    anything else gets a space.
    """
    if not left or not right:
        return left + right
    if not space and left.endswith("-") and len(left) > 1 and left[-2].isalpha() and right[0].islower():
        return left[:-1] + right
    if not space and _is_hangul(left[-1]) and _is_hangul(right[0]) and not _ends_word(left):
        return left + right
    return f"{left} {right}"


def _ends_word(text: str) -> bool:
    return text[-1] in _WORD_FINAL_SYLLABLES or text.endswith(_WORD_FINAL_ENDINGS)


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e"


def _page_lines(text: str) -> list[_Line]:
    """Cleaned lines of a page, without leading/trailing blank lines.

    Blank lines inside the page (paragraph gaps) stay as empty lines.
    """
    lines = [_Line(clean_line(raw), raw != raw.rstrip()) for raw in text.split("\n")]
    return _trim_blank(lines)


def _trim_blank(lines: list[_Line]) -> list[_Line]:
    start, end = 0, len(lines)
    while start < end and not lines[start].text:
        start += 1
    while end > start and not lines[end - 1].text:
        end -= 1
    return lines[start:end]


def _strip_furniture(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Drop page numbers and running headers/footers from the first and last line of each page.

    A page-number line ("3", "- 3 -", "규정 - 2 / 4") always goes; another edge line goes when,
    with its digits ignored, it is at the edge of at least half the pages (and two or more).
    """
    counts: dict[str, int] = {}
    for lines in pages:
        for key in {_edge_key(line) for line in _edges(lines)}:
            counts[key] = counts.get(key, 0) + 1
    threshold = max(2, _REPEATED_EDGE_SHARE * len(pages))
    repeated = {key for key, count in counts.items() if count >= threshold}
    return [_strip_edges(lines, repeated) for lines in pages]


def _edges(lines: list[_Line]) -> list[_Line]:
    return [lines[0], lines[-1]] if lines else []


def _edge_key(line: _Line) -> str:
    return _DIGITS_RE.sub("#", line.text)


def _is_furniture(line: _Line, repeated: set[str]) -> bool:
    return bool(_PAGE_NUMBER_RE.search(line.text)) or _edge_key(line) in repeated


def _strip_edges(lines: list[_Line], repeated: set[str]) -> list[_Line]:
    for _ in range(2):  # e.g. a running footer above a page number
        if lines and _is_furniture(lines[-1], repeated):
            lines = _trim_blank(lines[:-1])
        if lines and _is_furniture(lines[0], repeated):
            lines = _trim_blank(lines[1:])
    return lines


def _lines_to_blocks(lines: list[_Line], page: int) -> list[Block]:
    if not any(line.text for line in lines):
        return []
    builder = _PageBuilder(page=page, full_width=max(display_width(line.text) for line in lines))
    for line in lines:
        builder.add(line)
    builder.flush()
    return builder.blocks


def page_blocks(text: str, page: int) -> list[Block]:
    """Rebuild headings, list items and paragraphs from one page's extracted text.

    Page-number lines at the top or bottom of the page are dropped.
    """
    return _lines_to_blocks(_strip_furniture([_page_lines(text)])[0], page)


def ocr_page_blocks(ocr: OcrPage, page: int) -> list[Block]:
    """:func:`page_blocks` for an OCR'd page, with the tables found on it as TABLE blocks in place."""
    lines = ocr.text.splitlines()
    blocks: list[Block] = []
    start = 0
    for table in ocr.tables:
        blocks.extend(page_blocks("\n".join(lines[start : table.first]), page))
        blocks.extend(table_blocks([list(row) for row in table.rows], page=page))
        start = table.last + 1
    blocks.extend(page_blocks("\n".join(lines[start:]), page))
    return blocks
