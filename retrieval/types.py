"""Values that cross the retrieval boundary: what callers may see, and what a search returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
"""Rows of float32 vectors, one per text (L2-normalised where an embedder made them)."""


@dataclass(frozen=True, slots=True)
class AccessScope:
    """Which documents a caller may see.

    ``is_admin`` sees everything; anyone else sees public documents and those shared with one of
    ``group_ids``. The default scope (no groups, not admin) sees public documents only.
    ``only_documents``, when set, narrows either to those documents (a caller's own filter: it can
    only take away, never add).
    """

    group_ids: frozenset[str] = frozenset()
    is_admin: bool = False
    only_documents: frozenset[str] | None = None

    def narrowed_to(self, document_ids: frozenset[str] | None) -> AccessScope:
        """This scope limited to ``document_ids`` (unchanged when ``None``)."""
        if document_ids is None:
            return self
        only = document_ids if self.only_documents is None else self.only_documents & document_ids
        return AccessScope(self.group_ids, self.is_admin, only)

    @property
    def sees_everything(self) -> bool:
        """Admin without a narrowing filter: no visibility check needed."""
        return self.is_admin and self.only_documents is None

    @classmethod
    def admin(cls) -> AccessScope:
        """A scope that sees every document (CLI, evaluation, admin tools)."""
        return cls(is_admin=True)


@dataclass(frozen=True, slots=True)
class ChunkInput:
    """A chunk as ingestion hands it to the index."""

    text: str
    section_path: list[str] = field(default_factory=list)
    article: str | None = None
    page: int | None = None
    location: str | None = None
    token_count: int = 0


@dataclass(slots=True)
class SearchHit:
    """One retrieved chunk with its scores and the source it came from."""

    chunk_id: str
    document_id: str
    version_id: str
    title: str
    display_name: str
    text: str
    section_path: list[str]
    article: str | None
    page: int | None
    location: str | None
    ordinal: int
    score: float
    lexical_score: float = 0.0
    dense_score: float = 0.0
    rerank_score: float | None = None

    def source_fields(self) -> dict[str, object]:
        """Where the chunk came from, as clients see it (API results, chat sources, LangChain metadata)."""
        return {
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "version_id": self.version_id,
            "title": self.title,
            "file_name": self.display_name,
            "label": self.citation_label,
            "article": self.article,
            "page": self.page,
            "location": self.location,
            "section": " > ".join(self.section_path),
        }

    @property
    def citation_label(self) -> str:
        """How a person cites it: ``취업규칙 제12조 ②`` or ``출장비 규정 p.3``.

        Text read by OCR always says so, with its page: ``취업규칙 제12조 p.2 (OCR 91%)``.
        """
        parts = [self.title]
        if self.article:
            parts.append(self.article)
        if self.page is not None and (not self.article or self.is_ocr):
            parts.append(f"p.{self.page}" if self.location is None else self.location)
        elif self.is_ocr and self.location:  # a picture in a document without pages: 그림 2 (OCR 87%)
            parts.append(self.location)
        return " ".join(parts)

    @property
    def is_ocr(self) -> bool:
        """Whether the chunk's text was recognised from an image (``location`` like ``p.2 (OCR 91%)``)."""
        return self.location is not None and "(OCR " in self.location


class DependencyUnavailableError(RuntimeError):
    """A service the index needs (a Chroma server, an embeddings service) cannot be reached now.

    Work that fails with it is worth retrying once the service is back (an ingestion job waits in
    the queue instead of failing); a request that needs it answers 503.
    """
