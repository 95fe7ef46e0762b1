"""The dense leg: chunk vectors in Chroma (embedded PersistentClient or a Chroma server)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from core.settings import ChromaSettings
from retrieval.e5_embedder import E5_MODEL
from retrieval.lexical import ScoredId
from retrieval.types import DependencyUnavailableError, Vectors

UPSERT_BATCH = 1000
GET_BATCH = 1000
EMBEDDER_KEY = "jikji:embedder"
"""Collection metadata naming the embedding model its vectors come from."""
NEW_MODELS = frozenset({E5_MODEL})
"""Models introduced with the stamp: an unmarked collection cannot have been built with them."""


class EmbedderMismatchError(RuntimeError):
    """The collection holds vectors of another embedding model than the configured one."""


class VectorStoreUnavailableError(DependencyUnavailableError):
    """Chroma cannot be reached or failed on its side (server down, store unreadable or read-only).

    Raised instead of the client's own error by every :class:`VectorStore` operation; the API
    answers 503. A Chroma server that comes back is used again without reopening anything.
    """


HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""Chroma's HTTP client waits forever by default: a hung server would hang every search."""


def _unavailable(exc: Exception) -> bool:
    """Whether ``exc`` says Chroma is down or broken, rather than that the request was wrong."""
    from chromadb.errors import ChromaError

    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500
    return isinstance(exc, ChromaError) and exc.code() >= 500


class _GuardedCollection:
    """A Chroma collection whose calls raise :class:`VectorStoreUnavailableError` when Chroma is down."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if not callable(attribute):
            return attribute

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except Exception as exc:
                if _unavailable(exc):
                    msg = f"Chroma is unavailable ({name}): {exc!r}"
                    raise VectorStoreUnavailableError(msg) from exc
                raise

        return guarded


class VectorStore:
    """Chunk vectors keyed by chunk id, with the document and version as metadata."""

    def __init__(self, collection: Any, client: Any = None) -> None:
        self._collection = _GuardedCollection(collection)
        self._client = client

    def ping(self) -> bool:
        """Whether Chroma answers now (it counts the collection: a request to a server, a read of the
        embedded store)."""
        try:
            self._collection.count()
        except Exception:  # noqa: BLE001 - any failure means "not reachable" to a health check
            return False
        return True

    def close(self) -> None:
        """Release the Chroma client (its files and threads); the store is unusable afterwards."""
        close = getattr(self._client, "close", None)
        if close is not None:
            close()

    def upsert(self, ids: Sequence[str], vectors: Vectors, metadatas: Sequence[dict[str, Any]]) -> None:
        """Insert or replace vectors (Chroma's ``add`` ignores existing ids, so always upsert)."""
        for start in range(0, len(ids), UPSERT_BATCH):
            end = start + UPSERT_BATCH
            self._collection.upsert(
                ids=list(ids[start:end]),
                embeddings=vectors[start:end].tolist(),
                metadatas=list(metadatas[start:end]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove vectors by chunk id (unknown ids are ignored)."""
        for start in range(0, len(ids), UPSERT_BATCH):
            self._collection.delete(ids=list(ids[start : start + UPSERT_BATCH]))

    def count(self) -> int:
        """Number of stored vectors."""
        return int(self._collection.count())

    def query(self, vector: Vectors, k: int, documents: frozenset[str] | None = None) -> list[ScoredId]:
        """The ``k`` nearest chunks by cosine similarity (1 − cosine distance).

        ``documents`` restricts the search with a metadata filter; it is slow in local Chroma
        (about 100 ms at 100k vectors, however few documents match), so the searcher avoids it.
        """
        if k <= 0 or (documents is not None and not documents):
            return []
        # No count() first: it costs more than the query (5 ms at 100k), and Chroma caps n_results.
        where = {"document_id": {"$in": sorted(documents)}} if documents is not None else None
        result = self._collection.query(
            query_embeddings=[vector.tolist()], n_results=k, include=["distances"], where=where
        )
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [ScoredId(chunk_id, 1.0 - float(d)) for chunk_id, d in zip(ids, distances, strict=True)]

    def get_vectors(self, ids: Sequence[str]) -> tuple[list[str], Vectors]:
        """Stored vectors of ``ids`` (unknown ids are left out), as (ids found, matrix).

        Each batch becomes float32 at once: the client parses vectors into float64 rows, and holding
        all of them before converting cost more memory (an API process grew 629 MiB caching 100k
        vectors before this, 549 MiB caching 130k after it; bench/README.md, issue 20 "1M vectors").
        """
        found: list[str] = []
        parts: list[Vectors] = []
        for start in range(0, len(ids), GET_BATCH):
            result = self._collection.get(ids=list(ids[start : start + GET_BATCH]), include=["embeddings"])
            if not result["ids"] or result["embeddings"] is None:
                continue
            found += result["ids"]
            parts.append(np.asarray(result["embeddings"], dtype=np.float32).reshape(len(result["ids"]), -1))
        if not found:
            return [], np.zeros((0, 0), np.float32)
        return found, np.concatenate(parts) if len(parts) > 1 else parts[0]

    def check_embedder(self, name: str, dimension: int) -> None:
        """Refuse to mix models: the collection must hold vectors of embedding model ``name`` only.

        An empty collection is stamped with ``name``; vectors stored under ``name`` must have
        ``dimension`` (a service may serve another model under the same name). A non-empty unmarked
        one (built before the stamp) is stamped when its vectors have ``dimension`` and ``name`` could
        have built it. Otherwise
        :class:`EmbedderMismatchError` says how to keep the old model or start a new collection.
        """
        metadata = {k: v for k, v in (self._collection.metadata or {}).items() if not k.startswith("hnsw:")}
        stamped = metadata.get(EMBEDDER_KEY)
        if stamped == name:
            stored = self._stored_dimension()  # the same name served at another size (a service)
            if stored is None or stored == dimension:
                return
            stamped = f"{name}, {stored} dimensions, not {dimension}"
        elif stamped is None:
            stored = self._stored_dimension()
            if stored is None or (stored == dimension and name not in NEW_MODELS):
                self._collection.modify(metadata={**metadata, EMBEDDER_KEY: name})
                return
            stamped = f"unmarked, {stored} dimensions"
        collection = self._collection.name
        msg = (
            f"벡터 컬렉션 '{collection}': 다른 임베딩 모델({stamped})로 만들어진 컬렉션이라 "
            f"'{name}' 모델의 벡터와 "
            f"섞을 수 없습니다. 이전 모델로 되돌리거나(JIKJI_EMBEDDING__MODEL), 새 컬렉션 이름"
            f"(JIKJI_CHROMA__COLLECTION)을 정한 뒤 `jikji rechunk --force` 로 다시 색인하십시오. / "
            f"The vector collection "
            f"'{collection}' holds vectors of another embedding model ({stamped}); vectors of '{name}' "
            f"cannot be mixed with them. Set JIKJI_EMBEDDING__MODEL back to that model, or name a new "
            f"collection (JIKJI_CHROMA__COLLECTION) and re-index the documents with `jikji rechunk --force`."
        )
        raise EmbedderMismatchError(msg)

    def _stored_dimension(self) -> int | None:
        """Dimension of a stored vector, or None when the collection is empty."""
        peeked = self._collection.get(limit=1, include=["embeddings"])
        embeddings = peeked["embeddings"]
        return len(embeddings[0]) if embeddings is not None and len(embeddings) else None

    def all_ids(self) -> list[str]:
        """Every stored id (for consistency checks and repairs)."""
        return list(self._collection.get(include=[])["ids"])


def open_vector_store(settings: ChromaSettings, data_dir: Path) -> VectorStore:
    """Open (creating if needed) the chunk collection, embedded or on a Chroma server."""
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    client_settings = ChromaClientSettings(anonymized_telemetry=False)
    if settings.mode == "http":
        client: Any = chromadb.HttpClient(host=settings.host, port=settings.port, settings=client_settings)
        _bound_http_timeout(client)
    else:
        path = data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=client_settings)
    collection = client.get_or_create_collection(
        name=settings.collection, embedding_function=None, metadata={"hnsw:space": "cosine"}
    )
    return VectorStore(collection, client)


def _bound_http_timeout(client: Any) -> None:
    """Give the HTTP client of a Chroma server finite timeouts (chromadb sets none and offers no setting)."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = HTTP_TIMEOUT
