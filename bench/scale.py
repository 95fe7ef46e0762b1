"""Cost as the corpus grows (issue 20 item 4): 10k, 100k (and 1M) chunks.

Usage: python -m bench.scale [--sizes 10000,100000] [--work DIR] [--rounds 1]

For each size an index is built once per work directory with :func:`bench.retrieval.build` (real
Korean chunks of the sample documents, paired and repeated; their vectors are the real
multilingual-e5-small vectors (384 dimensions) of the sample chunks, mixed and jittered — synthetic
vectors of the real dimension; Kiwi BM25 terms are real), then a *fresh process* (one API process's
work, without HTTP) is started on it and measures:

- start-up: settings → container → saved BM25 loaded → first search answered (model load included);
- search p50/p95 through the real searcher (Kiwi, BM25, e5 ONNX query, Chroma, SQL permissions) for a
  caller seeing 10 % and one seeing 100 % of the documents (non-admin), dev-set questions;
- memory of that process: resident set after start-up and after the searches, and its peak;
- catch-up: a changed document read into BM25 (``bench.retrieval.measure_updates``);
- disk per store: the SQLite file, the Chroma directory, the BM25 snapshot.

Targets at 1M chunks: p50 ≤ 30 ms, p95 ≤ 80 ms, ≤ 4 GB per API process, start-up ≤ 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from app.container import build_container
from bench.common import load_devset, machine
from bench.retrieval import CHUNKS_PER_DOC, build, callers, ensure_small_group, measure_updates
from core.models import Chunk
from core.settings import Settings
from retrieval.evaluation import percentile as pct

TARGETS = {"p50_ms": 30.0, "p95_ms": 80.0, "rss_gb": 4.0, "startup_s": 30.0}


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmRSS``) or its peak (``VmHWM``), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    """Bytes under ``path`` (a file, or a directory's files), in MiB."""
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20 if path.exists() else 0.0


def ensure_built(index_dir: Path, work: Path, n_chunks: int) -> float:
    """Build the index of ``n_chunks`` unless it is there; seconds spent building (0 when reused)."""
    started = time.perf_counter()
    container = build_container(Settings(data_dir=index_dir))
    try:
        with container.sessions() as session:
            existing = session.scalar(select(func.count()).select_from(Chunk)) or 0
        if existing:
            return 0.0
        build(container, work, n_chunks)
        ensure_small_group(container)
        container.index.checkpoint()  # the BM25 snapshot a starting process loads
        with container.sessions() as session:
            written = session.scalar(select(func.count()).select_from(Chunk)) or 0
        if written != n_chunks // CHUNKS_PER_DOC * CHUNKS_PER_DOC:
            msg = f"the built index holds {written} chunks, not {n_chunks}"
            raise RuntimeError(msg)
    finally:
        container.close()
    return time.perf_counter() - started


def measure(index_dir: Path, rounds: int) -> dict[str, object]:
    """In a fresh process: start-up, search latency, memory and catch-up on a built index."""
    questions = [item.question for item in load_devset()]
    random.Random(5).shuffle(questions)
    started = time.perf_counter()
    container = build_container(Settings(data_dir=index_dir))
    container.index.refresh()
    with container.sessions() as session:
        n_chunks = session.scalar(select(func.count()).select_from(Chunk)) or 0
    if not n_chunks:
        msg = f"no chunks in {index_dir}"
        raise RuntimeError(msg)
    scopes = callers(container)
    container.searcher.search(questions[0], scopes["10 % visible"])
    startup_s = time.perf_counter() - started
    rss_started = rss_mb()
    for question in questions[:10]:  # warm-up: visible sets, scope vectors, pages
        for label in ("10 % visible", "100 % visible"):
            container.searcher.search(question, scopes[label])
    latencies: dict[str, list[float]] = {"10 % visible": [], "100 % visible": []}
    for _ in range(rounds):
        for question in questions:
            for label, values in latencies.items():
                begin = time.perf_counter()
                container.searcher.search(question, scopes[label])
                values.append((time.perf_counter() - begin) * 1000)
    result: dict[str, object] = {
        "chunks": n_chunks,
        "startup_s": round(startup_s, 2),
        "rss_after_start_mb": round(rss_started),
        "rss_after_search_mb": round(rss_mb()),
        "rss_peak_mb": round(rss_mb("VmHWM")),
        "searches": sum(len(v) for v in latencies.values()),
        "load_average": round(os.getloadavg()[0], 2),
    }
    for label, values in latencies.items():
        result[label] = {"p50_ms": round(statistics.median(values), 1), "p95_ms": round(pct(values, 95), 1)}
    print("catch-up (bench.retrieval.measure_updates):", flush=True)
    measure_updates(container, 3)
    container.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--work", type=Path, default=None, help="built indexes are kept and reused here")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the dev set per caller")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:  # the child process
        print("RESULT " + json.dumps(measure(args.measure, args.rounds)), flush=True)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="jikji-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()} (shared with other sessions: load average {os.getloadavg()[0]:.2f})")
    for size in (int(s) for s in args.sizes.split(",")):
        index_dir = work / f"{size}" / "index"
        built_s = ensure_built(index_dir, work / f"{size}", size)
        child = subprocess.run(
            [sys.executable, "-m", "bench.scale", "--measure", str(index_dir), "--rounds", str(args.rounds)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            print(child.stdout[-3000:], child.stderr[-3000:])
            raise SystemExit(child.returncode)
        lines = child.stdout.splitlines()
        result = json.loads(next(line for line in lines if line.startswith("RESULT "))[7:])
        disk = {
            "sqlite_mb": round(disk_mb(index_dir / "jikji.db") + disk_mb(index_dir / "jikji.db-wal"), 1),
            "chroma_mb": round(disk_mb(index_dir / "chroma"), 1),
            "bm25_mb": round(disk_mb(index_dir / "bm25"), 1),
        }
        print(f"\n== {size:,} chunks (built in {built_s:.0f} s; 0 = reused)")
        print(json.dumps(result | {"disk": disk}, ensure_ascii=False, indent=1))
        for line in lines:
            if not line.startswith("RESULT "):
                print("  " + line)


if __name__ == "__main__":
    main()
