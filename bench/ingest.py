"""Ingestion throughput: the whole pipeline against the raw embedding model, on the same chunks.

Usage: python -m bench.ingest [--copies N]
Builds a corpus from the samples scaled to at least 2,000 chunks (text-based samples repeated with a
copy marker so each is new content), ingests it through the real job queue and pipeline (sandboxed
parsing, Kiwi, SQL, Chroma, BM25, bundled MiniLM), then embeds exactly the stored chunk texts with
the same model. Target: pipeline chunks/s ≥ 0.8 × raw embedding chunks/s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from app.container import build_container
from app.ingest_files import discover, ingest_paths
from bench.common import SAMPLES, machine
from core.models import Chunk, Document
from core.settings import Settings
from retrieval.index import index_text
from retrieval.types import ChunkInput

TEXT_SUFFIXES = {".md", ".txt", ".html"}


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jikji-bench-ingest-"))
    corpus = work / "corpus"
    corpus.mkdir()
    build_corpus(corpus, args.copies)
    container = build_container(Settings(data_dir=work / "data"))
    container.embedder.embed_query("워밍업")  # load the model outside the timing
    container.index.refresh()
    files = discover([corpus])
    started = time.perf_counter()
    summary = ingest_paths(container, files, is_public=True, groups=())
    pipeline_s = time.perf_counter() - started
    with container.sessions() as session:
        rows = session.execute(
            select(Chunk, Document.title).join(Document, Document.id == Chunk.document_id)
        ).all()
    texts = [
        index_text(title, ChunkInput(text=chunk.text, section_path=json.loads(chunk.section_path or "[]")))
        for chunk, title in rows
    ]
    started = time.perf_counter()
    for start in range(0, len(texts), 64):
        container.embedder.embed_passages(texts[start : start + 64])
    embed_s = time.perf_counter() - started
    pipeline_rate, embed_rate = len(rows) / pipeline_s, len(rows) / embed_s
    print(f"machine: {machine()}")
    print(f"files: {len(files)} ({summary.added} added, {len(summary.failed)} failed), chunks: {len(rows)}")
    print(f"pipeline end to end: {pipeline_s:7.1f} s  {pipeline_rate:6.1f} chunks/s")
    print(f"raw embedding only:  {embed_s:7.1f} s  {embed_rate:6.1f} chunks/s  (same chunk texts, batch 64)")
    print(f"ratio pipeline/raw: {pipeline_rate / embed_rate:.2f} (target ≥ 0.80)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
