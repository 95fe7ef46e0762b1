"""PDF parser: text per page, with paragraphs rebuilt from the extracted lines.

PDF text comes out as lines, not paragraphs. Lines are joined into a paragraph until a break
is likely: a regulation heading (제N조(제목) ...), a clause or list marker (①, 1., •), or a
line that ends a sentence while stopping well short of the page's usual line width. Korean
text wraps inside words, so two Hangul line ends are joined without a space; other line
ends get one.
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
_BULLET_RE = re.compile(r"^(?:[•·▪◦○●□■◆◇▶▷※\-–]\s|(?:\d{1,2}|[가-하])[.)]\s)")
_PAGE_NUMBER_RE = re.compile(r"^[-–—\s]*\d{1,4}(?:\s*/\s*\d{1,4})?[-–—\s]*$")
_SENTENCE_END_RE = re.compile(r"[.!?。:;)\]」』\"']$")
_WORD_PREFIX = "Microsoft Word - "
_SHORT_LINE = 0.5
_FULL_LINE = 0.8
_ALLOWED_CONTROL = frozenset("\n\t")
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
    blocks: list[Block] = []
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
        blocks.extend(page_blocks(text, number))
    if not any(block.text.strip() for block in blocks):
        raise NoTextError("pdf_no_text_layer", *_SCANNED_MESSAGE)
    return ParsedDocument(blocks=blocks, title=title)


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
    return "".join(
        ch for ch in text if ch in _ALLOWED_CONTROL or unicodedata.category(ch) not in ("Cc", "Co", "Cs")
    )


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
            if _BULLET_RE.match(line.text):
                self.current_kind = BlockKind.LIST_ITEM
        self.current.append(line)

    def _starts_new(self, text: str) -> bool:
        if not self.current:
            return False
        if _CLAUSE_RE.match(text) or _BULLET_RE.match(text):
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

    A hyphenated Latin word is rejoined; Hangul meeting Hangul is joined without a space (Korean
    wraps inside words) unless the extractor kept a trailing space; anything else gets a space.
    """
    if not left or not right:
        return left + right
    if not space and left.endswith("-") and len(left) > 1 and left[-2].isalpha() and right[0].islower():
        return left[:-1] + right
    if not space and _is_hangul(left[-1]) and _is_hangul(right[0]):
        return left + right
    return f"{left} {right}"


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e"


def _page_lines(text: str) -> list[_Line]:
    """Cleaned lines of a page; blank lines (paragraph gaps) stay as empty lines."""
    lines = [_Line(clean_line(raw), raw != raw.rstrip()) for raw in text.split("\n")]
    while lines and not lines[-1].text:
        lines.pop()
    while lines and not lines[0].text:
        lines.pop(0)
    # A bare page number as the first or last line is furniture, not content.
    if lines and _PAGE_NUMBER_RE.match(lines[-1].text):
        lines.pop()
    if lines and _PAGE_NUMBER_RE.match(lines[0].text):
        lines.pop(0)
    return lines


def page_blocks(text: str, page: int) -> list[Block]:
    """Rebuild headings, list items and paragraphs from one page's extracted text."""
    lines = _page_lines(text)
    if not any(line.text for line in lines):
        return []
    builder = _PageBuilder(page=page, full_width=max(display_width(line.text) for line in lines))
    for line in lines:
        builder.add(line)
    builder.flush()
    return builder.blocks
