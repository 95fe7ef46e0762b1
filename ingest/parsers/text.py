"""Plain-text parsing plus the text helpers other parsers share.

``decode_text`` turns bytes of unknown encoding (UTF-8, UTF-16 with BOM, CP949/EUC-KR) into
normalised text. ``split_regulation_heading`` recognises Korean regulation headings
(제N장, 제N절, 제N조(제목)) so plain text, Markdown and PDF all yield the same structure.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

from ingest.document import Block, BlockKind, ParsedDocument, ParseLimits
from ingest.errors import NoTextError, ParseError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# 제1장 총칙 / 제 2 절 복무 — a short line that is only the heading and its name.
_CHAPTER_RE = re.compile(r"^제\s*\d+\s*(?P<unit>[장절])(?:\s+(?P<name>\S.{0,40}))?$")
# 제12조(연차휴가) [body...] / 제3조의2 (정의) — the article number and its title in parentheses.
_ARTICLE_RE = re.compile(r"^(?P<head>제\s*\d+\s*조(?:\s*의\s*\d+)?\s*\([^()\n]{1,40}\))\s*(?P<rest>.*)$")
# Table-of-contents lines ("제1장 총칙 ········ 3") repeat headings; they are not headings.
_LEADER_RE = re.compile(r"\.{4,}|…|‥|·{3,}|ㆍ{3,}")
# 부칙 / 부칙 <2025. 3. 1.> — the supplementary provisions, a chapter-level part of a regulation.
_SUPPLEMENT_RE = re.compile(r"^부\s?칙(?:\s*[<(〈\[（][^>)〉\]）]{0,40}[>)〉\]）])?$")
_SENTENCE_END_RE = re.compile(r"(?:다|요|음|함|임)\.?$|[.!?。]$")
_UNIT_LEVEL = {"장": 1, "절": 2}
_RULE_RE = re.compile(r"^([=\-_*~#─━═])\1{2,}$")
_MAX_UNDERLINED_HEADING = 60
_HORIZONTAL_SPACE_RE = re.compile(r"[ \t\u00a0\u3000]+")


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding and normalise newlines and Unicode (NFC).

    Order: a UTF-8/UTF-16 byte-order mark wins; then strict UTF-8; then strict CP949 (a superset
    of EUC-KR, the usual legacy Korean encoding); then charset-normalizer's best guess.
    """
    return normalize_text(_decode(data))


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    for encoding in ("utf-8", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise ParseError(
            "undecodable_text",
            "텍스트 인코딩을 알 수 없습니다",
            "The text encoding could not be determined",
        )
    return str(best)


def normalize_text(text: str) -> str:
    """Normalise newlines to ``\\n``, drop NUL characters and apply Unicode NFC."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return unicodedata.normalize("NFC", text)


def clean_line(line: str) -> str:
    """Collapse runs of horizontal whitespace to one space and strip the ends."""
    return _HORIZONTAL_SPACE_RE.sub(" ", line).strip()


def split_regulation_heading(line: str) -> tuple[int, str, str] | None:
    """Split a Korean regulation heading off the start of ``line``.

    Returns ``(level, heading, rest)`` — 장 and 부칙 are level 1, 절 level 2, 조 level 3 — or
    ``None``.
    An article line usually carries its first clause (``제12조(연차휴가) ① 회사는 ...``); the
    clause comes back as ``rest``. 장/절 lines count only when the line is short and is not a
    sentence, so prose such as ``제3장에서 본 바와 같이`` is not mistaken for a heading; lines with
    dot leaders (a table of contents) never count.
    """
    line = clean_line(line)
    if _LEADER_RE.search(line):
        return None
    article = _ARTICLE_RE.match(line)
    if article:
        return 3, article.group("head"), article.group("rest")
    chapter = _CHAPTER_RE.match(line)
    if chapter and not _SENTENCE_END_RE.search(line):
        return _UNIT_LEVEL[chapter.group("unit")], line, ""
    if _SUPPLEMENT_RE.match(line):
        return 1, line, ""
    return None


def require_text(doc: ParsedDocument, label_ko: str, label_en: str) -> ParsedDocument:
    """Return ``doc`` unchanged, or raise :class:`NoTextError` when it has no text at all."""
    if not doc.text.strip():
        raise NoTextError(
            "no_text",
            f"{label_ko}에서 추출할 텍스트가 없습니다",
            f"The {label_en} contains no extractable text",
        )
    return doc


def blocks_from_lines(lines: list[str]) -> list[Block]:
    """Group lines into paragraphs at blank lines; regulation headings become heading blocks.

    Paragraph lines keep their line breaks (joined with a newline). A rule line (``=====``,
    ``-----``) separates paragraphs, and a single short line just above one is a heading
    (``=`` level 1, ``-`` level 2), as in Markdown's setext headings.
    """
    builder = _TextBlocks()
    for raw in lines:
        builder.add(raw.strip())
    builder.flush()
    return builder.blocks


@dataclass(slots=True)
class _TextBlocks:
    blocks: list[Block] = field(default_factory=list)
    paragraph: list[str] = field(default_factory=list)

    def flush(self) -> None:
        if self.paragraph:
            self.blocks.append(Block("\n".join(self.paragraph)))
            self.paragraph.clear()

    def add(self, line: str) -> None:
        if not line:
            self.flush()
            return
        rule = _RULE_RE.match(line)
        if rule:
            self._rule(rule.group(1))
            return
        heading = split_regulation_heading(line)
        if heading is None:
            self.paragraph.append(line)
            return
        self.flush()
        level, head, rest = heading
        self.blocks.append(Block(head, BlockKind.HEADING, level=level))
        if rest:
            self.paragraph.append(rest)

    def _rule(self, char: str) -> None:
        if char in "=-" and len(self.paragraph) == 1 and len(self.paragraph[0]) <= _MAX_UNDERLINED_HEADING:
            level = 1 if char == "=" else 2
            self.blocks.append(Block(self.paragraph.pop(), BlockKind.HEADING, level=level))
        self.flush()


def parse_text(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse plain text: paragraphs split on blank lines, regulation headings as headings.

    ``limits`` is accepted for a uniform parser signature; plain text has nothing to decompress.
    """
    del limits
    text = decode_text(data)
    doc = ParsedDocument(blocks=blocks_from_lines(text.split("\n")))
    return require_text(doc, "텍스트 파일", "text file")
