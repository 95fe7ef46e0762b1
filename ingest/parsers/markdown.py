"""Markdown parser: headings, list items, pipe tables, code fences and paragraphs.

A small line-based reader, not a full CommonMark implementation: it keeps the structure that
matters for chunking and strips inline markup (links, emphasis, code spans) from prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.document import Block, BlockKind, ParsedDocument, ParseLimits
from ingest.parsers.text import decode_text, require_text, split_regulation_heading

_ATX_RE = re.compile(r"^ {0,3}(?P<marks>#{1,6})(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
_SETEXT_RE = re.compile(r"^ {0,3}(?P<line>=+|-+)[ \t]*$")
_HR_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_RE = re.compile(r"^(?P<indent>[ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(?P<text>\S.*)$")
_QUOTE_RE = re.compile(r"^ {0,3}>[ \t]?(?P<text>.*)$")
_TABLE_DELIMITER_RE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_LINK_DEFINITION_RE = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S+")
_FRONT_MATTER_TITLE_RE = re.compile(r"^title:\s*(?P<title>.+?)\s*$", re.IGNORECASE)
_MAX_FRONT_MATTER_LINES = 200
# Each span stops at the next delimiter character or newline, so pathological input
# ("**a **a **a ...", "[a[a[a ...") is scanned in linear time.
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\[\]\n]{0,500})\]\([^()\n]{0,2000}\)"), r"\1"),  # image -> alt text
    (re.compile(r"\[([^\[\]\n]{1,500})\]\([^()\n]{0,2000}\)"), r"\1"),  # link -> its text
    (re.compile(r"\[([^\[\]\n]{1,500})\]\[[^\[\]\n]{0,500}\]"), r"\1"),  # reference link
    (re.compile(r"<((?:https?|mailto):[^<>\s]{1,2000})>"), r"\1"),  # autolink
    (re.compile(r"`([^`\n]{1,1000})`"), r"\1"),  # code span
    (re.compile(r"\*\*(\S(?:[^*\n]{0,500}?\S)?)\*\*"), r"\1"),  # strong
    (re.compile(r"__(\S(?:[^_\n]{0,500}?\S)?)__"), r"\1"),
    (re.compile(r"~~(\S(?:[^~\n]{0,500}?\S)?)~~"), r"\1"),  # strikethrough
    (re.compile(r"(?<![*\w])\*(\S(?:[^*\n]{0,500}?\S)?)\*(?![*\w])"), r"\1"),  # emphasis
    (re.compile(r"\*\*(\S(?:[^*\n]{0,500}?\S)?)\*\*"), r"\1"),  # strong around emphasis
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),  # backslash escapes
)


def strip_inline_markup(text: str) -> str:
    """Remove Markdown inline markup, keeping the words people read."""
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return text


def _indent_width(indent: str) -> int:
    return len(indent.expandtabs(4))


@dataclass(slots=True)
class _Reader:
    lines: list[str]
    pos: int = 0
    blocks: list[Block] = field(default_factory=list)
    paragraph: list[str] = field(default_factory=list)
    list_indents: list[int] = field(default_factory=list)

    def read(self) -> list[Block]:
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            self.pos += 1
            self._line(line)
        self._flush()
        return self.blocks

    def _flush(self) -> None:
        if self.paragraph:
            self.blocks.append(Block(strip_inline_markup("\n".join(self.paragraph))))
            self.paragraph.clear()

    def _line(self, line: str) -> None:
        if not line.strip():
            self._flush()
            return
        if not _LIST_RE.match(line):
            self.list_indents.clear()
        if self._structural(line):
            return
        quote = _QUOTE_RE.match(line)
        self._prose(quote.group("text") if quote else line)

    def _structural(self, line: str) -> bool:
        """Handle a line that opens or is a block of its own; ``False`` when it is prose."""
        setext = _SETEXT_RE.match(line)
        if setext and self.paragraph:
            level = 1 if setext.group("line").startswith("=") else 2
            text = strip_inline_markup(" ".join(self.paragraph))
            self.paragraph.clear()
            self.blocks.append(Block(text, BlockKind.HEADING, level=level))
            return True
        for handler in (self._fence, self._atx, self._hr, self._table, self._list_item):
            if handler(line):
                return True
        return bool(_LINK_DEFINITION_RE.match(line))

    def _fence(self, line: str) -> bool:
        match = _FENCE_RE.match(line)
        if not match:
            return False
        self._flush()
        fence = match.group("fence")
        body = [line.rstrip()]
        while self.pos < len(self.lines):
            current = self.lines[self.pos]
            self.pos += 1
            body.append(current.rstrip())
            if current.strip().startswith(fence[0] * len(fence)) and not current.strip().strip(fence[0]):
                break
        self.blocks.append(Block("\n".join(body)))
        return True

    def _atx(self, line: str) -> bool:
        match = _ATX_RE.match(line)
        if not match:
            return False
        self._flush()
        text = strip_inline_markup((match.group("text") or "").strip())
        if text:
            self.blocks.append(Block(text, BlockKind.HEADING, level=len(match.group("marks"))))
        return True

    def _hr(self, line: str) -> bool:
        if not _HR_RE.match(line):
            return False
        self._flush()
        return True

    def _table(self, line: str) -> bool:
        next_line = self.lines[self.pos] if self.pos < len(self.lines) else ""
        if "|" not in line or "|" not in next_line or not _TABLE_DELIMITER_RE.match(next_line):
            return False
        self._flush()
        rows = [line.strip()]
        while self.pos < len(self.lines) and "|" in self.lines[self.pos] and self.lines[self.pos].strip():
            rows.append(self.lines[self.pos].strip())
            self.pos += 1
        self.blocks.append(Block("\n".join(rows), BlockKind.TABLE))
        return True

    def _list_item(self, line: str) -> bool:
        match = _LIST_RE.match(line)
        if not match:
            return False
        self._flush()
        indent = _indent_width(match.group("indent"))
        while self.list_indents and self.list_indents[-1] > indent:
            self.list_indents.pop()
        if not self.list_indents or self.list_indents[-1] < indent:
            self.list_indents.append(indent)
        item = [match.group("text").strip()]
        while self.pos < len(self.lines) and self._continues_item(self.lines[self.pos]):
            item.append(self.lines[self.pos].strip())
            self.pos += 1
        text = strip_inline_markup("\n".join(item))
        self.blocks.append(Block(text, BlockKind.LIST_ITEM, level=len(self.list_indents)))
        return True

    def _continues_item(self, line: str) -> bool:
        if not line.strip():
            return False
        starters = (_LIST_RE, _ATX_RE, _FENCE_RE, _HR_RE, _QUOTE_RE, _SETEXT_RE)
        return not any(pattern.match(line) for pattern in starters) and "|" not in line

    def _prose(self, line: str) -> None:
        heading = split_regulation_heading(line)
        if heading is None:
            self.paragraph.append(line.strip())
            return
        self._flush()
        level, head, rest = heading
        self.blocks.append(Block(head, BlockKind.HEADING, level=level))
        if rest:
            self.paragraph.append(rest)


def _front_matter(lines: list[str]) -> tuple[list[str], str | None]:
    """Drop a leading YAML front-matter block, returning the remaining lines and its ``title``."""
    if not lines or lines[0].strip() != "---":
        return lines, None
    for end in range(1, min(len(lines), _MAX_FRONT_MATTER_LINES)):
        if lines[end].strip() in ("---", "..."):
            title = None
            for meta in lines[1:end]:
                found = _FRONT_MATTER_TITLE_RE.match(meta.strip())
                if found:
                    title = found.group("title").strip("\"'") or None
            return lines[end + 1 :], title
    return lines, None


def parse_markdown(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse Markdown into blocks; the title is front matter's ``title`` or the first ``#`` heading.

    Pipe tables stay whole as one TABLE block, fenced code stays a paragraph (fences included),
    and Korean regulation headings in prose are recognised as in plain text. ``limits`` is
    accepted for a uniform parser signature.
    """
    del limits
    lines, title = _front_matter(decode_text(data).split("\n"))
    blocks = _Reader(lines).read()
    if title is None:
        title = next((b.text for b in blocks if b.kind is BlockKind.HEADING and b.level == 1), None)
    return require_text(ParsedDocument(blocks=blocks, title=title), "Markdown 문서", "Markdown document")
