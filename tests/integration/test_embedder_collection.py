"""A Chroma collection holds one embedding model's vectors: a model change is refused, never mixed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import ChromaSettings
from retrieval.e5_embedder import E5_MODEL
from retrieval.vectors import EMBEDDER_KEY, EmbedderMismatchError, VectorStore, open_vector_store

pytestmark = pytest.mark.integration

MINILM = "bundled:all-MiniLM-L6-v2"


def _open(data_dir: Path) -> VectorStore:
    return open_vector_store(ChromaSettings(), data_dir)


def _add(store: VectorStore, dimension: int) -> None:
    vector = np.ones((1, dimension), np.float32) / np.sqrt(dimension)
    store.upsert(["c1"], vector, [{"document_id": "d1", "version_id": "v1"}])


def test_an_empty_collection_is_stamped_and_another_model_is_refused(tmp_path: Path) -> None:
    store = _open(tmp_path)
    store.check_embedder(E5_MODEL, 384)
    _add(store, 384)
    store.close()
    store = _open(tmp_path)
    store.check_embedder(E5_MODEL, 384)  # same model: fine
    with pytest.raises(EmbedderMismatchError, match=E5_MODEL) as refused:
        store.check_embedder(MINILM, 384)  # same dimension, other model
    assert "JIKJI_CHROMA__COLLECTION" in str(refused.value)
    assert "다시 색인" in str(refused.value)
    hits = store.query(np.ones(384, np.float32) / np.sqrt(384), 1)
    assert hits[0].chunk_id == "c1"
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)  # still cosine after the stamp
    store.close()


def test_an_unmarked_collection_from_before_the_stamp(tmp_path: Path) -> None:
    store = _open(tmp_path)
    _add(store, 384)  # built before collections were stamped (by the MiniLM default of the time)
    with pytest.raises(EmbedderMismatchError):
        store.check_embedder(E5_MODEL, 384)  # e5 cannot have built it
    with pytest.raises(EmbedderMismatchError, match="384 dimensions"):
        store.check_embedder("BAAI/bge-m3", 1024)
    store.check_embedder(MINILM, 384)  # the model that built it: accepted and stamped
    assert store._collection.metadata[EMBEDDER_KEY] == MINILM
    with pytest.raises(EmbedderMismatchError):
        store.check_embedder(E5_MODEL, 384)
    store.close()
