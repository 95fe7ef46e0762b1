"""The embeddings-service client's retries, back-pressure and checks, against an in-memory transport
(fast; the real server is exercised in tests/integration/test_embedding_service.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from core.settings import EmbeddingSettings
from retrieval import embedding_service
from retrieval.embedding_service import (
    EmbeddingServiceError,
    EmbeddingServiceUnavailableError,
    ServiceEmbedder,
)

Handler = Callable[[httpx.Request], httpx.Response]


def vectors_for(request: httpx.Request, dimension: int = 4) -> httpx.Response:
    texts = json.loads(request.content)["input"]
    data = [
        {"index": i, "embedding": [float(len(t)), 1.0, 0.0, 0.0][:dimension]} for i, t in enumerate(texts)
    ]
    return httpx.Response(200, json={"data": data, "model": "m"})


def embedder(handler: Handler, **changes: object) -> ServiceEmbedder:
    fields: dict[str, object] = {"model": "m", "base_url": "http://embed/v1", "dimension": 4, "api_key": "k"}
    settings = EmbeddingSettings.model_validate(fields | changes)
    client = httpx.Client(transport=httpx.MockTransport(handler), headers={"Authorization": "Bearer k"})
    return ServiceEmbedder(settings, client=client)


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding_service, "BACKOFF_S", (0.0, 0.0))


def test_transient_failures_are_retried() -> None:
    answers = iter([httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or vectors_for(request)

    vectors = embedder(handler, max_retries=2).embed_passages(["가나", "다"])
    assert vectors.shape == (2, 4)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_a_service_that_stays_down_is_unavailable_after_the_retries() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(EmbeddingServiceUnavailableError, match="unavailable after 3 tries"):
        embedder(handler, max_retries=2).embed_query("질문")
    assert len(calls) == 3


def test_a_refusal_is_not_retried_and_says_what_to_check() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(404, json={"error": "model not found"})

    with pytest.raises(EmbeddingServiceError, match="JIKJI_EMBEDDING__MODEL") as raised:
        embedder(handler).embed_query("질문")
    assert "거부" in str(raised.value) and len(calls) == 1


def test_vectors_of_another_size_are_refused() -> None:
    with pytest.raises(EmbeddingServiceError, match="instead of 1 vectors of 8 dimensions"):
        embedder(vectors_for, dimension=8).embed_query("질문")


def test_a_body_that_is_not_json_or_vectors_that_are_not_numbers_are_refused() -> None:
    def not_json(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy login</html>")

    def not_finite(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0, None, 0.0, 0.0]}]})

    def infinite(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"data": [{"index": 0, "embedding": [1e400, 0, 0, 0]}]}')

    for handler in (not_json, not_finite, infinite):
        with pytest.raises(EmbeddingServiceError, match="unreadable embeddings response"):
            embedder(handler).embed_query("질문")


def test_batches_and_requests_in_flight_are_bounded() -> None:
    in_flight = peak = 0
    sizes: list[int] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
            sizes.append(len(json.loads(request.content)["input"]))
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return vectors_for(request)

    service = embedder(handler, batch_size=3, max_concurrency=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(service.embed_passages, [[f"문장 {i}" * i for i in range(10)]] * 4))
    assert all(result.shape == (10, 4) for result in results)
    assert peak <= 2
    assert sorted(set(sizes)) == [1, 3]
    assert service.embed_passages([]).shape == (0, 4)
