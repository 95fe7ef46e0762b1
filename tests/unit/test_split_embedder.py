"""Queries apart from ingestion (issue 20): separate query slots, the agreement check of two embedders,
and the settings that select them — against in-memory transports (fast; the real services are in
tests/integration/test_query_embeddings.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import httpx
import pytest
from pydantic import ValidationError

from core.settings import EmbeddingSettings
from retrieval import embedding_service, split_embedder
from retrieval.embedding_service import EmbeddingServiceUnavailableError, ServiceEmbedder
from retrieval.split_embedder import EmbedderDisagreementError, SplitEmbedder
from retrieval.vectors import EmbedderMismatchError

Handler = Callable[[httpx.Request], httpx.Response]


def answer(
    request: httpx.Request, dimension: int = 4, model: str = "m", turn: bool = False
) -> httpx.Response:
    """One vector per input text (``turn``: a different direction, as another model would give)."""
    texts = json.loads(request.content)["input"]
    row = [0.0, 1.0, 0.0, 0.0, 1.0][:dimension] if turn else [1.0, 1.0, 0.0, 0.0, 0.0][:dimension]
    data = [{"index": i, "embedding": row} for i in range(len(texts))]
    return httpx.Response(200, json={"data": data, "model": model})


def service(handler: Handler, **changes: object) -> ServiceEmbedder:
    fields: dict[str, object] = {"model": "m", "base_url": "http://embed/v1", "dimension": 4}
    settings = EmbeddingSettings.model_validate(fields | changes)
    return ServiceEmbedder(settings, client=httpx.Client(transport=httpx.MockTransport(handler)))


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding_service, "BACKOFF_S", (0.0, 0.0))


def test_a_query_is_not_held_by_passage_batches_that_take_every_passage_slot() -> None:
    release, inside = threading.Event(), threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["input"][0].startswith("passage"):
            inside.set()
            release.wait(60)  # a batch the service is still computing
        return answer(request)

    embedder = service(handler, max_concurrency=1, query_max_concurrency=1, passage_prefix="passage ")
    batch = threading.Thread(target=embedder.embed_passages, args=(["긴 문서"],))
    batch.start()
    assert inside.wait(60)  # the only passage slot is taken
    answered = threading.Event()

    def search() -> None:
        embedder.embed_query("질문")
        answered.set()

    query = threading.Thread(target=search)
    query.start()
    query.join(60)
    still_in_flight = batch.is_alive()
    release.set()
    batch.join(60)
    assert answered.is_set() and still_in_flight  # the query went while the batch held its slot


def split(passages: Handler, queries: Handler) -> SplitEmbedder:
    return SplitEmbedder(service(passages), service(queries, base_url="http://query/v1"), "http://query/v1")


def test_two_services_of_one_model_are_used_for_their_own_kind() -> None:
    calls: dict[str, int] = {"embed": 0, "query": 0}

    def counting(host: str) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            calls[host] += 1
            return answer(request)

        return handler

    embedder = split(counting("embed"), counting("query"))
    assert embedder.agreement is not None and embedder.agreement >= 0.99
    assert calls == {"embed": 1, "query": 1}  # the probe, once each
    embedder.embed_query("질문")
    embedder.embed_passages(["가", "나"])
    assert calls == {"embed": 2, "query": 2}
    assert embedder.name == "m" and embedder.dimension == 4


@pytest.mark.parametrize(
    ("queries", "detail"),
    [
        (lambda request: answer(request, dimension=3), "(1, 3)"),
        (lambda request: answer(request, model="other"), "'m' and 'other'"),
        (lambda request: answer(request, turn=True), "cosine"),
    ],
    ids=["dimension", "reported model", "vectors"],
)
def test_a_query_service_that_disagrees_is_refused(queries: Handler, detail: str) -> None:
    with pytest.raises(EmbedderDisagreementError) as raised:
        split(answer, queries)
    message = str(raised.value)
    assert detail in message and "같은 모델이 아닙니다" in message and "cannot be mixed" in message
    assert isinstance(raised.value, EmbedderMismatchError)  # the CLI prints it without a traceback


def test_a_query_embedder_of_another_size_is_refused_before_any_request() -> None:
    queries = service(lambda request: answer(request, dimension=3), dimension=3)
    with pytest.raises(EmbedderDisagreementError, match="3 dimensions, not 4"):
        SplitEmbedder(service(answer), queries, "http://query/v1")


def test_a_passage_service_down_at_start_defers_the_check_to_the_first_passage() -> None:
    down = True

    def passages(request: httpx.Request) -> httpx.Response:
        if down:
            raise httpx.ConnectError("refused", request=request)
        return answer(request)

    embedder = SplitEmbedder(service(passages, max_retries=0), service(answer), "http://query/v1")
    assert embedder.agreement is None
    assert embedder.embed_query("질문").shape == (4,)  # searches go on
    with pytest.raises(EmbeddingServiceUnavailableError):
        embedder.embed_passages(["가"])  # ingestion waits: no vector before the check
    down = False
    assert embedder.embed_passages(["가"]).shape == (1, 4)
    assert embedder.agreement is not None


def test_a_disagreement_found_late_stops_ingestion() -> None:
    turned = {"now": False}

    def passages(request: httpx.Request) -> httpx.Response:
        if not turned["now"]:
            raise httpx.ConnectError("refused", request=request)
        return answer(request, turn=True)

    embedder = SplitEmbedder(service(passages, max_retries=0), service(answer), "http://query/v1")
    turned["now"] = True
    with pytest.raises(EmbedderDisagreementError):
        embedder.embed_passages(["가"])


def test_query_routes_need_the_passages_service_and_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match=r"need embedding\.base_url"):
        EmbeddingSettings(query_base_url="http://query/v1")
    with pytest.raises(ValidationError, match=r"need embedding\.base_url"):
        EmbeddingSettings(query_in_process=True)
    with pytest.raises(ValidationError, match="not both"):
        EmbeddingSettings(base_url="http://embed/v1", query_base_url="http://q/v1", query_in_process=True)
    settings = EmbeddingSettings(base_url="http://embed/v1", query_base_url="http://q/v1")
    assert settings.query_max_concurrency == 4 and settings.max_concurrency == 4


def test_the_query_service_down_does_not_hold_up_ingestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(split_embedder, "RECHECK_S", 0.0)
    down = {"queries": True}

    def queries(request: httpx.Request) -> httpx.Response:
        if down["queries"]:
            raise httpx.ConnectError("refused", request=request)
        return answer(request, turn=True)  # back, but another model

    embedder = SplitEmbedder(service(answer), service(queries, max_retries=0), "http://query/v1")
    assert embedder.agreement is None
    assert embedder.embed_passages(["가"]).shape == (1, 4)  # the workers go on
    down["queries"] = False
    with pytest.raises(EmbedderDisagreementError, match="cosine"):
        embedder.embed_passages(["가"])  # checked again before the next passages
