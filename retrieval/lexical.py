"""The lexical leg: BM25 (bm25s) over Kiwi morphemes, persisted in the data directory."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MANIFEST = "jikji_manifest.json"
MASK_CACHE = 64


def _bm25s() -> Any:
    """Import bm25s, which sets its own logger to DEBUG on import; keep it quiet."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@dataclass(frozen=True, slots=True)
class ScoredId:
    """A chunk id with a score from one retrieval leg."""

    chunk_id: str
    score: float


class LexicalIndex:
    """An in-memory BM25 index over chunk ids, saved to and loaded from a directory."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self._k1, self._b = k1, b
        self._ids: list[str] = []
        self._position: dict[str, int] = {}
        self._bm25: object | None = None
        self._doc_codes: dict[str, int] = {}
        self._doc_of_row = np.zeros(0, dtype=np.int32)
        self._documents: list[str] = []
        self._masks: dict[frozenset[str], npt.NDArray[np.bool_]] = {}
        self.version = 0

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def params(self) -> tuple[float, float]:
        """The BM25 parameters (k1, b)."""
        return self._k1, self._b

    @property
    def ids(self) -> list[str]:
        """Chunk ids in index order (row i of every score vector)."""
        return self._ids

    def build(self, ids: list[str], tokens: list[list[str]], documents: list[str], version: int = 0) -> None:
        """Replace the index with the given chunks, their terms and the document of each."""
        bm25s = _bm25s()
        self._set_rows(ids, documents)
        self.version = version
        if not self._ids:
            self._bm25 = None
            return
        model = bm25s.BM25(k1=self._k1, b=self._b)
        # Empty documents still need a row so positions match ids.
        model.index([terms or ["\u0000"] for terms in tokens], show_progress=False)
        self._bm25 = model

    def scores(self, query_terms: list[str]) -> npt.NDArray[np.float32]:
        """BM25 score of every chunk for the query terms (zeros when nothing matches)."""
        if self._bm25 is None or not query_terms:
            return np.zeros(len(self._ids), dtype=np.float32)
        model = self._bm25
        known = [term for term in query_terms if term in model.vocab_dict]  # type: ignore[attr-defined]
        if not known:
            return np.zeros(len(self._ids), dtype=np.float32)
        return np.asarray(model.get_scores(known), dtype=np.float32)  # type: ignore[attr-defined]

    def search(
        self, query_terms: list[str], k: int, allowed: npt.NDArray[np.bool_] | None = None
    ) -> list[ScoredId]:
        """The best ``k`` chunks with a positive score, among ``allowed`` rows if given."""
        scores = self.scores(query_terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        return top_positive(self._ids, scores, k)

    def _set_rows(self, ids: list[str], documents: list[str]) -> None:
        self._ids = list(ids)
        self._position = {chunk_id: i for i, chunk_id in enumerate(self._ids)}
        self._doc_codes = {}
        codes = [self._doc_codes.setdefault(doc, len(self._doc_codes)) for doc in documents]
        self._doc_of_row = np.asarray(codes, dtype=np.int32)
        self._documents = documents
        self._masks = {}

    def document_of(self, chunk_id: str) -> str | None:
        """The document a (current) chunk belongs to."""
        row = self._position.get(chunk_id)
        return self._documents[row] if row is not None else None

    def mask_for(self, documents: frozenset[str]) -> npt.NDArray[np.bool_]:
        """Rows whose document is in ``documents`` (cached per document set)."""
        mask = self._masks.get(documents)
        if mask is None:
            codes = np.asarray(
                [self._doc_codes[d] for d in documents if d in self._doc_codes], dtype=np.int32
            )
            mask = np.isin(self._doc_of_row, codes)
            if len(self._masks) >= MASK_CACHE:
                self._masks.pop(next(iter(self._masks)))
            self._masks[documents] = mask
        return mask

    def ids_where(self, mask: npt.NDArray[np.bool_]) -> list[str]:
        """Chunk ids of the rows set in ``mask`` (e.g. a scope's visible chunks)."""
        return [self._ids[i] for i in np.flatnonzero(mask)]

    def save(self, directory: Path) -> None:
        """Write the index and its id list to ``directory`` (atomically replaced manifest)."""
        directory.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None:
            self._bm25.save(str(directory / "bm25"))  # type: ignore[attr-defined]
        manifest = {
            "version": self.version,
            "ids": self._ids,
            "documents": self._documents,
            "k1": self._k1,
            "b": self._b,
        }
        tmp = directory / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest), encoding="utf-8")
        tmp.replace(directory / MANIFEST)

    def load(self, directory: Path) -> bool:
        """Load a saved index; False when there is none (or it is unreadable)."""
        bm25s = _bm25s()
        manifest_path = directory / MANIFEST
        if not manifest_path.exists():
            return False
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            ids = list(manifest["ids"])
            documents = list(manifest["documents"])
            model = bm25s.BM25.load(str(directory / "bm25")) if ids else None
        except (OSError, ValueError, KeyError):
            return False
        self._set_rows(ids, documents)
        self._bm25, self.version = model, int(manifest["version"])
        return True


def top_positive(ids: list[str], scores: npt.NDArray[np.float32], k: int) -> list[ScoredId]:
    """The ``k`` highest positive scores as (id, score), best first."""
    if len(ids) == 0 or k <= 0:
        return []
    k = min(k, len(ids))
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [ScoredId(ids[i], float(scores[i])) for i in best if scores[i] > 0]
