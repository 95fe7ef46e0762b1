"""The lean query encoder: the bundled MiniLM exported to ONNX gives torch's vectors, or torch is kept."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from core.settings import EmbeddingSettings
from retrieval.embedder import FastQueryEmbedder, SentenceTransformerEmbedder, build_embedder

pytestmark = pytest.mark.integration

MINILM = "bundled:all-MiniLM-L6-v2"  # the ONNX query path is for sentence-transformers models
QUERIES = ["연차휴가는 며칠인가요?", "VPN 접속 오류 문의처", "What is the per diem for Busan?", "법인카드"]


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(EmbeddingSettings(model=MINILM))


def test_onnx_queries_match_torch_and_the_export_is_cached(
    tmp_path: Path, torch_embedder: SentenceTransformerEmbedder
) -> None:
    settings = EmbeddingSettings(model=MINILM, query_prefix="query: ")
    fast = build_embedder(settings, cache_dir=tmp_path / "onnx")
    assert isinstance(fast, FastQueryEmbedder)
    for query in QUERIES:
        expected = torch_embedder.embed_query("query: " + query)
        assert 1.0 - float(np.dot(fast.embed_query(query), expected)) <= 1e-4
    assert fast.dimension == torch_embedder.dimension
    again = build_embedder(settings, cache_dir=tmp_path / "onnx")
    assert isinstance(again, FastQueryEmbedder)
    assert again._base is None  # served from the cache: torch not even loaded
    passages = again.embed_passages(["출장비 정산"])  # passages still go through torch
    assert passages.shape == (1, torch_embedder.dimension)


def test_without_onnxruntime_queries_fall_back_to_torch_with_a_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with caplog.at_level(logging.WARNING, logger="retrieval.embedder"):
        embedder = build_embedder(EmbeddingSettings(model=MINILM), cache_dir=tmp_path / "onnx")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert "embedding queries with torch" in caplog.text


def test_torch_can_be_chosen(tmp_path: Path) -> None:
    embedder = build_embedder(
        EmbeddingSettings(model=MINILM, query_encoder="torch"), cache_dir=tmp_path / "onnx"
    )
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert not (tmp_path / "onnx").exists()
