"""Ingestion throughput: the whole pipeline against the raw embedding model, on the same chunks.

Usage: python -m bench.ingest [--copies N] [--batch-size B] [--rounds R] [--sweep]
Builds a corpus from the samples scaled to at least 2,000 chunks (text-based samples repeated with a
copy marker so each is new content), ingests it through the real job queue and pipeline (sandboxed
parsing, Kiwi, SQL, Chroma, BM25, bundled MiniLM), then embeds exactly the stored chunk texts with
the same embedder object in one call (the model sorts them by length over the whole set: its best
case). Both use the same batch size. Target: pipeline chunks/s ≥ 0.8 × raw embedding chunks/s.
``--rounds`` repeats both legs (fresh data directory each time) and compares the best of each, for a
shared machine. ``--sweep`` also times raw embedding of a 512-chunk sample at other batch sizes, to
show the one used is the model's best here. Wall and CPU seconds are printed, and how many cores
other processes used meanwhile (for the pipeline that includes its own parsing children).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import select

from app.container import Container, build_container
from app.services.ingest_files import discover, ingest_paths
from bench.common import SAMPLES, machine
from core.models import Chunk, Document
from core.settings import EmbeddingSettings, Settings
from retrieval.embedder import SentenceTransformerEmbedder
from retrieval.index import index_text
from retrieval.types import ChunkInput

TEXT_SUFFIXES = {".md", ".txt", ".html"}
# The best passage batch size measured on the idle 2-core bench machine (bench/README.md; 8 ties,
# 32 and 64 are about a fifth slower), also the settings default.
BATCH_SIZE = EmbeddingSettings().batch_size
SWEEP_SIZES = (8, 16, 32, 64)
SWEEP_SAMPLE = 512


def build_corpus(target: Path, copies: int) -> None:
    for path in discover([SAMPLES]):
        shutil.copy(path, target / path.name)
        if path.suffix not in TEXT_SUFFIXES or path.name.endswith("_cp949.txt"):
            continue
        text = path.read_text(encoding="utf-8")
        for n in range(2, copies + 1):
            (target / f"{path.stem}_사본{n}{path.suffix}").write_text(
                f"{text}\n\n(사본 {n})\n", encoding="utf-8"
            )


def busy_cpu_seconds() -> float:
    """CPU seconds all processes of the machine have used since boot (0 without /proc)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(step: Callable[[], object]) -> tuple[float, float, float]:
    """Wall and CPU (this process, all threads) seconds of ``step``, and the cores others used."""
    wall, cpu, busy = time.perf_counter(), time.process_time(), busy_cpu_seconds()
    step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    others = max(0.0, busy_cpu_seconds() - busy - cpu) / wall
    return wall, cpu, others


MINILM = "bundled:all-MiniLM-L6-v2"  # the batch sweep is of the sentence-transformers path


def sweep(settings: EmbeddingSettings, texts: list[str]) -> None:
    sample = random.Random(0).sample(texts, min(SWEEP_SAMPLE, len(texts)))
    for size in SWEEP_SIZES:
        embedder = SentenceTransformerEmbedder(
            settings.model_copy(update={"batch_size": size, "model": MINILM})
        )
        embedder.embed_passages(sample[:8])
        wall, cpu, _ = timed(partial(embedder.embed_passages, sample))
        print(
            f"  sweep batch {size:3d}: {len(sample) / wall:6.1f} chunks/s wall, {len(sample) / cpu:6.1f} per CPU s"
        )


@dataclass(frozen=True)
class Round:
    """One pipeline run and the raw embedding of the chunks it stored."""

    files: int
    failed: int
    chunks: int
    pipeline: tuple[float, float, float]  # wall s, CPU s, cores other processes used
    raw: tuple[float, float, float]
    texts: list[str]

    @property
    def ratio(self) -> float:
        return self.raw[0] / self.pipeline[0]


def one_round(data_dir: Path, corpus: Path, embedding: EmbeddingSettings, shared: Container | None) -> Round:
    container = build_container(
        Settings(data_dir=data_dir, embedding=embedding),
        embedder=shared.embedder if shared else None,
        tokenizer=shared.tokenizer if shared else None,
    )
    container.embedder.embed_passages(["워밍업"])  # load the passage model outside the timing
    container.index.refresh()
    files = discover([corpus])
    summaries = []
    pipeline = timed(lambda: summaries.append(ingest_paths(container, files, is_public=True)))
    with container.sessions() as session:
        rows = session.execute(
            select(Chunk, Document.title).join(Document, Document.id == Chunk.document_id)
        ).all()
    texts = [
        index_text(title, ChunkInput(text=chunk.text, section_path=json.loads(chunk.section_path or "[]")))
        for chunk, title in rows
    ]
    raw = timed(lambda: container.embedder.embed_passages(texts))
    container.close()
    return Round(len(files), len(summaries[0].failed), len(rows), pipeline, raw, texts)


def report(label: str, n: int, leg: tuple[float, float, float]) -> str:
    wall, cpu, others = leg
    return f"{label}: {wall:6.1f} s {n / wall:6.1f} chunks/s  (CPU {cpu:5.1f} s; other processes {others:.2f} cores)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat both legs; the best of each is compared"
    )
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jikji-bench-ingest-"))
    corpus = work / "corpus"
    corpus.mkdir()
    build_corpus(corpus, args.copies)
    embedding = EmbeddingSettings(batch_size=args.batch_size)
    print(f"machine: {machine()}")
    rounds: list[Round] = []
    shared: Container | None = None
    for r in range(args.rounds):
        if shared is None:
            shared = build_container(Settings(data_dir=work / "shared", embedding=embedding))
        result = one_round(work / f"data{r}", corpus, embedding, shared)
        rounds.append(result)
        n = result.chunks
        print(f"round {r + 1}: {result.files} files ({result.failed} failed), {n} chunks")
        print("  " + report("pipeline end to end", n, result.pipeline))
        print("  " + report(f"raw embedding (one call, batch {args.batch_size})", n, result.raw))
        print(f"  ratio {result.ratio:.2f} wall, {result.raw[1] / result.pipeline[1]:.2f} CPU")
    best_pipeline = min(r.pipeline[0] for r in rounds)
    best_raw = min(r.raw[0] for r in rounds)
    n = rounds[0].chunks
    print(
        f"best of {len(rounds)}: pipeline {n / best_pipeline:.1f} chunks/s, raw {n / best_raw:.1f} chunks/s, "
        f"ratio {best_raw / best_pipeline:.2f} (target ≥ 0.80); per-round ratios "
        + ", ".join(f"{r.ratio:.2f}" for r in rounds)
    )
    if args.sweep:
        sweep(embedding, rounds[0].texts)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
