"""Dependencies stopped for real while Jikji runs: the llama.cpp server, PostgreSQL, a Chroma server.

While one is down, requests that need it fail at once with 503, ``Retry-After`` and a Korean and an
English message naming it, and ``/health`` answers 503 naming the part that is down; once it is back,
the same running app answers again (no restart of Jikji)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.container import Container, build_container
from core.models import Message
from core.settings import (
    ChromaSettings,
    DatabaseSettings,
    EmbeddingSettings,
    Settings,
)
from llm.server import EmbeddedLlamaServer
from retrieval.embedder import HashingEmbedder
from retrieval.tokenizer import KiwiTokenizer
from retrieval.vectors import VectorStoreUnavailableError, open_vector_store
from tests.integration.llm_stack import llama_server
from tests.postgres import REQUIRE_ENV, PostgresUnavailableError, fresh_database
from tests.support.containers import make_container
from tests.support.dependencies import ChromaServer, PostgresCluster, running_chroma
from tests.support.outages import Client, served

pytestmark = pytest.mark.integration


def assert_down(response: httpx.Response, code: str, ko: str, en: str) -> None:
    """A 503 problem with Retry-After and both messages (never a 500 or a hang)."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == code
    assert ko in body["message_ko"] and en in body["message_en"]


def assert_health(client: Client, *down: str) -> None:
    response = client.health()
    body = response.json()
    assert body["down"] == list(down)
    for part in ("database", "vectors", "llm"):
        assert body[part]["reachable"] is (part not in down)
    if down:
        assert response.status_code == 503 and body["status"] == "degraded"
        assert int(response.headers["Retry-After"]) >= 1
    else:
        assert response.status_code == 200 and body["status"] == "ok"


# --- the model server -------------------------------------------------------------------------


@pytest.mark.llm
def test_the_llama_server_stopped_and_started_again(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, kiwi: KiwiTokenizer
) -> None:
    models = tmp_path_factory.getbasetemp() / "models"  # the model cache the other LLM tests share
    with llama_server(tmp_path, models, max_tokens=8, temperature=0.0, prompt_family="chat") as stack:
        server, llm, _ = stack
        settings = Settings(
            data_dir=tmp_path / "data",
            embedding=EmbeddingSettings(model="hashing"),
            llm=llm.model_copy(update={"base_url": server.base_url}),
        )
        container = build_container(settings, embedder=HashingEmbedder(), tokenizer=kiwi)  # the real client
        try:
            for client in served(settings, container):
                _llm_outage(client, container, server)
        finally:
            container.close()


def _llm_outage(client: Client, container: Container, server: EmbeddedLlamaServer) -> None:
    assert client.complete().status_code == 200
    assert_health(client)

    server.stop()
    for response in (client.complete(), client.complete(stream=True)):
        assert_down(response, "llm_unavailable", "언어 모델 서버", "language model server")
    conversation = client.conversation()
    assert_down(client.ask(conversation, stream=True), "llm_unavailable", "언어 모델 서버", "language model")
    with container.sessions() as session:
        rows = session.execute(
            select(Message.role, Message.status).where(Message.conversation_id == conversation)
        )
        assert sorted(rows.all()) == [("assistant", "error"), ("user", "complete")], (
            "the failed turn is marked"
        )
    assert_health(client, "llm")

    server.start(watch=False)
    assert client.complete().status_code == 200
    assert client.ask(conversation, stream=True).status_code == 200
    assert_health(client)


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    try:
        own = PostgresCluster()
    except PostgresUnavailableError as exc:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set: {exc}")
        pytest.skip(str(exc))
    try:
        own.start()
        yield own
    finally:
        own.remove()


@pytest.mark.postgres
def test_postgresql_stopped_and_started_again(
    tmp_path: Path, kiwi: KiwiTokenizer, cluster: PostgresCluster
) -> None:
    with fresh_database(cluster.url) as url:
        settings = Settings(
            data_dir=tmp_path / "data",
            embedding=EmbeddingSettings(model="hashing"),
            database=DatabaseSettings(url=url),
        )
        container = make_container(settings, kiwi)
        try:
            for client in served(settings, container):
                assert client.complete().status_code == 200
                assert_health(client)

                cluster.stop()
                assert_down(client.complete(), "database_unavailable", "데이터베이스", "database")
                assert_down(client.search(), "database_unavailable", "데이터베이스", "database")
                assert_health(client, "database")

                cluster.start()
                assert client.complete().status_code == 200
                assert client.search().status_code == 200
                assert_health(client)
        finally:
            container.close()


# --- Chroma ----------------------------------------------------------------------------------


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server of this test alone (it is stopped mid-test)."""
    with running_chroma(tmp_path / "chroma") as server:
        yield server


def test_a_chroma_server_stopped_and_started_again(
    tmp_path: Path, kiwi: KiwiTokenizer, chroma: ChromaServer
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        chroma=ChromaSettings(mode="http", port=chroma.port),
    )
    container = make_container(settings, kiwi)
    try:
        for client in served(settings, container):
            assert client.search().status_code == 200
            assert_health(client)

            chroma.stop()
            assert_down(client.search(), "vector_store_unavailable", "Chroma", "vector store")
            assert_down(client.complete(), "vector_store_unavailable", "Chroma", "vector store")
            conversation = client.conversation()
            assert_down(client.ask(conversation), "vector_store_unavailable", "Chroma", "vector store")
            with container.sessions() as session:
                stored = session.scalars(select(Message.id).where(Message.conversation_id == conversation))
                assert list(stored) == [], "a question that could not be searched for is not stored"
            assert_health(client, "vectors")

            chroma.start()
            assert client.search().status_code == 200
            assert client.complete().status_code == 200
            assert client.ask(conversation).status_code == 200
            assert_health(client)
    finally:
        container.close()


def test_an_embedded_chroma_store_that_cannot_be_written_is_unavailable(tmp_path: Path) -> None:
    """The embedded store has no server to stop: its files going away fails writes (reads of what it
    already holds go on from open files)."""
    store = open_vector_store(ChromaSettings(), tmp_path)
    vectors = HashingEmbedder().embed_passages(["경조사비"])
    store.upsert(["a"], vectors, [{"document_id": "d", "version": 1}])
    shutil.rmtree(tmp_path / "chroma")
    with pytest.raises(VectorStoreUnavailableError):
        store.upsert(["b"], vectors, [{"document_id": "d", "version": 1}])
    store.close()
