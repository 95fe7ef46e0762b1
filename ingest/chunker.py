"""Structure-aware chunking: sections, regulation articles, pages and whole tables.

Chunks never straddle a regulation article (제N조), a heading's section, a chapter or a
page/slide/sheet, so each one can be cited precisely ("인사규정 제12조 ②, p.3"). Sizes are counted
in characters, whatever the embedding model: a Korean article of about a thousand characters with all
its 항 and 호 stays one chunk. Text longer than a chunk is split on paragraph, line, clause and sentence
boundaries with overlap, and tables that do not fit are split by rows with their header repeated.

Characters rather than Kiwi morphemes: they cost nothing to count (the splitter measures the same
pieces many times), do not move when the company dictionary changes (so a dictionary change never
re-cuts chunk boundaries), read the same for Korean and English, and are the unit people and the
answer model's context budget see. The embedding model's own input window is the embedder's affair
(it truncates or windows its input); it no longer sizes chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.settings import ChunkingSettings
from ingest.document import Block, BlockKind, ParsedDocument
from ingest.structure import PARAGRAPH_MARKS, chapter_level, match_article, paragraph_marks

CHUNKER_VERSION = 2
"""Changes whenever the same document would be cut into different chunks.

1: sizes in tokens of the embedding model (256 with 32 overlap); 2: sizes in characters. An index
whose chunks were cut by an older version is re-chunked by :func:`ingest.reindex.rechunk_index`.
"""
ARTICLE_LEVEL = 3
# Split points (regular expressions) for text longer than a chunk, strongest first: blank lines, a
# line that opens a 항 (①…), any line, then sentence and clause ends. Each stays with the piece before.
SEPARATORS = [
    r"\n\n",
    rf"\n(?=[{PARAGRAPH_MARKS}])",
    r"\n",
    r"[.?!] ",
    r"[;,] ",
    r" ",
    "",
]


@dataclass(slots=True)
class ChunkDraft:
    """A chunk before it is stored: its text and where it sits in the document."""

    text: str
    section_path: list[str]
    article: str | None
    page: int | None
    location: str | None

    @property
    def char_count(self) -> int:
        """Characters of :attr:`text`, the unit chunk budgets are counted in."""
        return len(self.text)

    @property
    def token_count(self) -> int:
        """The size written to the chunk row's ``token_count`` column: characters since chunker version 2."""
        return self.char_count


@dataclass(slots=True)
class _Cursor:
    """Where the chunker is in the document while it walks the blocks."""

    headings: list[tuple[int, str]] = field(default_factory=list)
    article: str | None = None
    page: int | None = None
    location: str | None = None

    def enter_heading(self, level: int, text: str) -> None:
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text))

    @property
    def path(self) -> list[str]:
        return [text for _, text in self.headings]


class Chunker:
    """Cuts a :class:`ParsedDocument` into :class:`ChunkDraft` objects of at most ``chunk_chars``."""

    def __init__(self, settings: ChunkingSettings) -> None:
        self._max = settings.chunk_chars
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=settings.chunk_chars,
            chunk_overlap=settings.overlap_chars,
            separators=SEPARATORS,
            keep_separator="end",
            is_separator_regex=True,
        )

    @property
    def max_chars(self) -> int:
        """The chunk size budget in characters."""
        return self._max

    def chunk(self, document: ParsedDocument) -> list[ChunkDraft]:
        """All chunks of ``document`` in reading order."""
        run = _ChunkRun(self)
        for block in document.blocks:
            if block.text.strip():
                run.add(block)
        run.flush()
        return _label_split_articles(run.chunks)

    def split_long(self, text: str, kind: BlockKind) -> list[str]:
        """Pieces of a block too long for one chunk (tables by rows, text by clauses and sentences)."""
        if kind is BlockKind.TABLE:
            return self._split_table(text)
        return self._split_text(text)

    def _split_text(self, text: str) -> list[str]:
        return [piece.strip() for piece in self._splitter.split_text(text) if piece.strip()]

    def _split_table(self, table: str) -> list[str]:
        lines = table.splitlines()
        header = lines[:2] if len(lines) > 2 and set(lines[1].replace("|", "").strip()) <= set("-: ") else []
        pieces: list[str] = []
        current: list[str] = []
        size = _joined_len(header)
        for row in lines[len(header) :]:
            if current and size + 1 + len(row) > self._max:
                pieces.append("\n".join([*header, *current]))
                current, size = [], _joined_len(header)
            current.append(row)
            size += len(row) + (1 if size else 0)
        if current:
            pieces.append("\n".join([*header, *current]))
        return [p for piece in pieces for p in self._fit(piece)]

    def _fit(self, text: str) -> list[str]:
        return [text] if len(text) <= self._max else self._split_text(text)


def _joined_len(lines: list[str]) -> int:
    """Length of ``lines`` joined by newlines."""
    return sum(map(len, lines)) + max(0, len(lines) - 1)


class _ChunkRun:
    """Accumulates blocks into chunks for one document."""

    def __init__(self, chunker: Chunker) -> None:
        self.chunker = chunker
        self.cursor = _Cursor()
        self.chunks: list[ChunkDraft] = []
        self._parts: list[str] = []
        self._size = 0
        self._has_body = False
        self._start_page: int | None = None
        self._start_location: str | None = None

    def add(self, block: Block) -> None:
        text = block.text.strip()
        if block.page != self.cursor.page or block.location != self.cursor.location:
            self.flush()
            self.cursor.page, self.cursor.location = block.page, block.location
        if self._opens_structure(block, text):
            return
        self._append_body(text, block.kind)

    def _opens_structure(self, block: Block, text: str) -> bool:
        """Handle headings, chapters and articles; True when the block was only a heading."""
        article = match_article(text)
        chapter = chapter_level(text)
        if article is not None:
            self.flush()
            self.cursor.enter_heading(ARTICLE_LEVEL, _heading_line(article.label, article.caption))
            self.cursor.article = article.label
            if block.kind is BlockKind.HEADING:
                self._push(text)
                return True
            return False
        if block.kind is BlockKind.HEADING or chapter is not None:
            self.flush()
            level = chapter or max(block.level, 1)
            if chapter is None and level >= ARTICLE_LEVEL:
                level = ARTICLE_LEVEL + level  # plain deep headings nest under articles
            self.cursor.enter_heading(level, text)
            if level <= ARTICLE_LEVEL:
                self.cursor.article = None
            self._push(text)
            return True
        return False

    def _append_body(self, text: str, kind: BlockKind) -> None:
        budget = self.chunker.max_chars
        if len(text) > budget:
            self.flush()
            for piece in self.chunker.split_long(text, kind):
                self._push(piece, body=True)
                self.flush()
            return
        if self._size + 1 + len(text) > budget:
            self.flush()
        self._push(text, body=True)

    def _push(self, text: str, *, body: bool = False) -> None:
        if not self._parts:
            self._start_page, self._start_location = self.cursor.page, self.cursor.location
        self._size += len(text) + (1 if self._parts else 0)
        self._parts.append(text)
        self._has_body = self._has_body or body

    def flush(self) -> None:
        """Emit the pending text as a chunk; headings with no body yet wait to prefix the next one."""
        if not self._parts or not self._has_body:
            return
        self.chunks.append(
            ChunkDraft(
                text="\n".join(self._parts),
                section_path=self.cursor.path,
                article=self.cursor.article,
                page=self._start_page,
                location=self._start_location,
            )
        )
        self._parts, self._size, self._has_body = [], 0, False


def _heading_line(label: str, caption: str | None) -> str:
    return f"{label}({caption})" if caption else label


def _label_split_articles(chunks: list[ChunkDraft]) -> list[ChunkDraft]:
    """An article cut into several chunks gets the 항 each chunk covers: ``제12조 ②~③``."""
    by_article: dict[tuple[str, str], list[ChunkDraft]] = {}
    for chunk in chunks:
        if chunk.article:
            key = (chunk.article, "/".join(chunk.section_path[:-1]))
            by_article.setdefault(key, []).append(chunk)
    for group in by_article.values():
        if len(group) < 2:
            continue
        for chunk in group:
            marks = paragraph_marks(chunk.text)
            if marks:
                span = marks[0] if marks[0] == marks[-1] else f"{marks[0]}~{marks[-1]}"
                chunk.article = f"{chunk.article} {span}"
    return chunks
