"""HTML parser: headings, list items, tables and paragraphs from the visible page text."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import CData, PageElement

from ingest.document import Block, BlockKind, ParsedDocument, ParseLimits
from ingest.parsers.tables import render_table
from ingest.parsers.text import clean_line, decode_text, normalize_text, require_text

_DROP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "head",
        "svg",
        "canvas",
        "object",
        "embed",
        "select",
    },
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_LISTS = frozenset({"ul", "ol", "menu"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr",
        "html", "legend", "li", "main", "nav", "p", "section", "summary", "td", "th", "tr", "tbody", "thead",
        "tfoot",
    },
)  # fmt: skip
_META_CHARSET_RE = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_KOREAN_ALIASES = frozenset(
    {"euc-kr", "euc_kr", "euckr", "ks_c_5601-1987", "ks_c_5601", "windows-949", "x-windows-949"}
)
_UNRELIABLE = frozenset({"latin1", "iso8859-1", "cp1252", "ascii"})  # codecs.lookup() names
_WHITESPACE_RE = re.compile(r"\s+")
_MAX_SPAN = 64
_MAX_COLUMNS = 256  # spans cannot widen a table beyond this
_MAX_DEPTH = 200  # nesting walked element by element; deeper content is kept as flat text


@dataclass(slots=True)
class _Context:
    """Where inline text currently goes: a paragraph, or a list item at some depth."""

    kind: BlockKind = BlockKind.PARAGRAPH
    level: int = 0


@dataclass(slots=True)
class _Walker:
    blocks: list[Block] = field(default_factory=list)
    buffer: list[str] = field(default_factory=list)

    def flush(self, ctx: _Context) -> None:
        lines = (clean_line(line) for line in "".join(self.buffer).split("\n"))
        text = "\n".join(line for line in lines if line)
        self.buffer.clear()
        if text:
            self.blocks.append(Block(text, ctx.kind, level=ctx.level))

    def walk(self, node: Tag, ctx: _Context, list_depth: int = 0, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:  # too deep to walk recursively: keep the text, flattened
            self.buffer.append(" " + _inline_text(node) + " ")
            return
        for child in node.children:
            self._visit(child, ctx, list_depth, depth)

    def _visit(self, child: PageElement, ctx: _Context, list_depth: int, depth: int) -> None:
        if isinstance(child, NavigableString):
            if type(child) in (NavigableString, CData):
                self.buffer.append(_WHITESPACE_RE.sub(" ", str(child)))
            return
        if not isinstance(child, Tag) or child.name in _DROP or child.has_attr("hidden"):
            return
        name = child.name
        if name == "br":
            self.buffer.append("\n")
        elif name in _HEADINGS:
            self.flush(ctx)
            text = _inline_text(child)
            if text:
                self.blocks.append(Block(text, BlockKind.HEADING, level=_HEADINGS[name]))
        elif name == "table" and not _is_layout_table(child, rows := _own_rows(child)):
            self.flush(ctx)
            self._table(child, rows)
        elif name == "pre":
            self.flush(ctx)
            text = "\n".join(line.rstrip() for line in child.get_text().strip("\n").split("\n"))
            if text.strip():
                self.blocks.append(Block(text))
        else:
            self._container(child, ctx, list_depth, depth)

    def _container(self, child: Tag, ctx: _Context, list_depth: int, depth: int) -> None:
        name = child.name
        if name in _LISTS:
            self.flush(ctx)
            self.walk(child, ctx, list_depth + 1, depth + 1)
        elif name == "li":
            self.flush(ctx)
            item = _Context(BlockKind.LIST_ITEM, max(1, list_depth))
            self.walk(child, item, list_depth, depth + 1)
            self.flush(item)
        elif name in _BLOCKS or name == "table":
            self.flush(ctx)
            self.walk(child, ctx, list_depth, depth + 1)
            self.flush(ctx)
        else:
            self.walk(child, ctx, list_depth, depth + 1)

    def _table(self, table: Tag, rows: list[Tag]) -> None:
        caption = table.find("caption")
        if isinstance(caption, Tag) and (text := _inline_text(caption)):
            self.blocks.append(Block(text))
        rendered = render_table(_table_rows(rows))
        if rendered.strip("|- \n"):
            self.blocks.append(Block(rendered, BlockKind.TABLE))


def _inline_text(tag: Tag) -> str:
    return _WHITESPACE_RE.sub(" ", tag.get_text(" ")).strip()


def _own_rows(table: Tag) -> list[Tag]:
    """The table's rows, not those of tables nested inside it."""
    return [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]


def _is_layout_table(table: Tag, rows: list[Tag]) -> bool:
    """A table used for page layout (nested tables, or a single column) is read as containers."""
    if table.find("table") is not None:
        return True
    return not rows or max(len(tr.find_all(["td", "th"], recursive=False)) for tr in rows) <= 1


def _span(cell: Tag, name: str) -> int:
    try:
        return max(1, min(int(str(cell.get(name, "1"))), _MAX_SPAN))
    except ValueError:
        return 1


def _table_rows(table_rows: list[Tag]) -> list[list[str]]:
    """Cell texts row by row; colspan/rowspan repeat the merged cell's text in each slot."""
    rows: list[list[str]] = []
    pending: dict[int, tuple[str, int]] = {}  # column -> (text, rows still covered)
    for tr in table_rows:
        row: list[str] = []
        cells = iter(tr.find_all(["td", "th"], recursive=False))
        cell = next(cells, None)
        while (cell is not None or any(col >= len(row) for col in pending)) and len(row) < _MAX_COLUMNS:
            col = len(row)
            if col in pending:
                text, left = pending.pop(col)
                row.append(text)
                if left > 1:
                    pending[col] = (text, left - 1)
                continue
            if cell is None:
                row.append("")
                continue
            text, rowspan = _inline_text(cell), _span(cell, "rowspan")
            for offset in range(_span(cell, "colspan")):
                row.append(text)
                if rowspan > 1:
                    pending[col + offset] = (text, rowspan - 1)
            cell = next(cells, None)
        rows.append(row)
        pending = {col: span for col, span in pending.items() if col < _MAX_COLUMNS}
    return rows


def decode_html(data: bytes) -> str:
    """Decode HTML using its ``<meta charset>`` when that decodes cleanly, else detect it."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(data)
    match = _META_CHARSET_RE.search(data[:4096])
    if match:
        declared = match.group(1).decode("ascii").lower()
        encoding = "cp949" if declared in _KOREAN_ALIASES else declared
        try:
            name = codecs.lookup(encoding).name
            if name not in _UNRELIABLE:
                return normalize_text(data.decode(name))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def parse_html(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Parse an HTML page into blocks, ignoring scripts, styles and other non-text elements.

    The title comes from ``<title>`` or else the first ``<h1>``. ``limits`` is accepted for a
    uniform parser signature.
    """
    del limits
    soup = BeautifulSoup(decode_html(data), "html.parser")
    title = _title(soup)
    walker = _Walker()
    root = soup.body if isinstance(soup.body, Tag) else soup
    walker.walk(root, _Context())
    walker.flush(_Context())
    if title is None:
        title = next((b.text for b in walker.blocks if b.kind is BlockKind.HEADING and b.level == 1), None)
    return require_text(ParsedDocument(blocks=walker.blocks, title=title), "HTML 문서", "HTML document")


def _title(soup: BeautifulSoup) -> str | None:
    tag = soup.find("title")
    if isinstance(tag, Tag):
        text = _inline_text(tag)
        if text:
            return text
    return None
