"""Structure-aware chunking: sections, regulation articles, pages and whole tables.

Chunks never straddle a regulation article (제N조), a chapter or a page/slide/sheet, so each one can
be cited precisely ("인사규정 제12조 ②, p.3"). Sizes are measured in tokens of the embedding model;
text longer than a chunk is split on paragraph, line and sentence boundaries with overlap, and tables
that do not fit are split by rows with their header repeated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.settings import ChunkingSettings
from ingest.document import Block, BlockKind, ParsedDocument
from ingest.structure import chapter_level, match_article, paragraph_marks

TokenCounter = Callable[[str], int]
ARTICLE_LEVEL = 3
# Texts whose token counts are remembered: the text splitter measures the same pieces repeatedly
# while it merges them, and a model tokenizer call is the chunker's main cost.
COUNT_CACHE_SIZE = 4096
SEPARATORS = ["\n\n", "\n", ". ", "다. ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(slots=True)
class ChunkDraft:
    """A chunk before it is stored: its text and where it sits in the document."""

    text: str
    section_path: list[str]
    article: str | None
    page: int | None
    location: str | None
    token_count: int


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
    """Cuts a :class:`ParsedDocument` into :class:`ChunkDraft` objects."""

    def __init__(self, settings: ChunkingSettings, count_tokens: TokenCounter) -> None:
        self._max = settings.chunk_tokens
        self._count = lru_cache(maxsize=COUNT_CACHE_SIZE)(count_tokens)
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=settings.chunk_tokens,
            chunk_overlap=settings.overlap_tokens,
            length_function=self._count,
            separators=SEPARATORS,
            keep_separator="end",
        )

    def chunk(self, document: ParsedDocument) -> list[ChunkDraft]:
        """All chunks of ``document`` in reading order."""
        run = _ChunkRun(self)
        for block in document.blocks:
            if block.text.strip():
                run.add(block)
        run.flush()
        return _label_split_articles(run.chunks)

    def count(self, text: str) -> int:
        """Tokens of ``text`` for the embedding model."""
        return self._count(text)

    def split_long(self, text: str, kind: BlockKind) -> list[str]:
        """Pieces of a block too long for one chunk (tables by rows, text by sentences)."""
        if kind is BlockKind.TABLE:
            return self._split_table(text)
        return [piece for piece in self._splitter.split_text(text) if piece.strip()]

    def _split_table(self, table: str) -> list[str]:
        lines = table.splitlines()
        header = lines[:2] if len(lines) > 2 and set(lines[1].replace("|", "").strip()) <= set("-: ") else []
        rows = lines[len(header) :]
        pieces: list[str] = []
        current: list[str] = []
        for row in rows:
            candidate = "\n".join([*header, *current, row])
            if current and self._count(candidate) > self._max:
                pieces.append("\n".join([*header, *current]))
                current = []
            current.append(row)
        if current:
            pieces.append("\n".join([*header, *current]))
        return [p for piece in pieces for p in self._fit(piece)]

    def _fit(self, text: str) -> list[str]:
        return [text] if self._count(text) <= self._max else self._splitter.split_text(text)

    @property
    def max_tokens(self) -> int:
        """The chunk size budget in tokens."""
        return self._max

    def joined_count(self, total: int, parts: int) -> int:
        """Tokens of ``parts`` texts joined by newlines, from the sum of their own counts.

        Exact for tokenizers that split on whitespace before anything else (WordPiece, as in the
        bundled MiniLM, where a newline is no token); within a token per join for SentencePiece.
        Saves re-tokenizing every chunk's text once more.
        """
        return total + self._count("\n") * (parts - 1)


class _ChunkRun:
    """Accumulates blocks into chunks for one document."""

    def __init__(self, chunker: Chunker) -> None:
        self.chunker = chunker
        self.cursor = _Cursor()
        self.chunks: list[ChunkDraft] = []
        self._parts: list[str] = []
        self._tokens = 0
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
                self._append_heading(text)
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
            self._append_heading(text)
            return True
        return False

    def _append_heading(self, text: str) -> None:
        self._push(text, self.chunker.count(text))

    def _append_body(self, text: str, kind: BlockKind) -> None:
        tokens = self.chunker.count(text)
        if tokens > self.chunker.max_tokens:
            self.flush()
            for piece in self.chunker.split_long(text, kind):
                self._push(piece, self.chunker.count(piece), body=True)
                self.flush()
            return
        if self._tokens + tokens > self.chunker.max_tokens:
            self.flush()
        self._push(text, tokens, body=True)

    def _push(self, text: str, tokens: int, *, body: bool = False) -> None:
        if not self._parts:
            self._start_page, self._start_location = self.cursor.page, self.cursor.location
        self._parts.append(text)
        self._tokens += tokens
        self._has_body = self._has_body or body

    def flush(self) -> None:
        """Emit the pending text as a chunk; headings with no body yet wait to prefix the next one."""
        if not self._parts or not self._has_body:
            return
        text = "\n".join(self._parts)
        self.chunks.append(
            ChunkDraft(
                text=text,
                section_path=self.cursor.path,
                article=self.cursor.article,
                page=self._start_page,
                location=self._start_location,
                token_count=self.chunker.joined_count(self._tokens, len(self._parts)),
            )
        )
        self._parts, self._tokens, self._has_body = [], 0, False


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
