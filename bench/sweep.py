"""Fusion weight sweep (and a lexical-field study) on the Korean dev set, over one built index.

Usage: python -m bench.sweep [--data-dir DIR] [--fields]

The samples are ingested once (embedded defaults: Kiwi-BM25 and the bundled MiniLM); each dev-set
question's lexical and dense candidates are computed once at depth 100, and every setting of the
grid re-fuses them (the same :func:`retrieval.fusion.weighted_fusion` the searcher uses). Quality
is by gold file, documents deduplicated in rank order, as ``jikji eval retrieval`` reports it.

``--fields`` also re-tokenizes the chunks three ways (body only; title and section path once —
what the index stores; title and section path twice) and reports BM25-only and fused quality, to
decide whether title/section matches should count more.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bench.common import load_devset, machine, samples_container
from core.models import Chunk, Document
from retrieval.evaluation import dedupe, mrr_at, recall_at
from retrieval.fusion import weighted_fusion
from retrieval.index import index_text
from retrieval.lexical import LexicalIndex, ScoredId
from retrieval.tokenizer import LexicalTokenizer
from retrieval.types import ChunkInput

DEPTH = 100
DENSE_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
LEXICAL_DEPTHS = (20, 50, 100)
DENSE_DEPTHS = (10, 20, 50, 100)


@dataclass(frozen=True, slots=True)
class Scores:
    """R@1, R@5, R@10 and MRR@10 by gold file."""

    r1: float
    r5: float
    r10: float
    mrr: float

    def row(self) -> str:
        """The four figures as Markdown cells."""
        return f"{self.r1:.3f} | {self.r5:.3f} | {self.r10:.3f} | {self.mrr:.3f}"


@dataclass(slots=True)
class Question:
    """A dev-set question with its gold files and both legs' candidates."""

    text: str
    gold: frozenset[str]
    lexical: list[ScoredId]
    dense: list[ScoredId]


def score(
    questions: list[Question],
    file_of: dict[str, str],
    dense_weight: float,
    lexical_depth: int = 50,
    dense_depth: int = 20,
) -> Scores:
    """Quality of one fusion setting over all questions."""
    totals = [0.0, 0.0, 0.0, 0.0]
    for q in questions:
        fused = weighted_fusion(
            q.lexical[:lexical_depth], q.dense[:dense_depth] if dense_weight > 0 else [], 1.0, dense_weight
        )
        files = dedupe(file_of[f.chunk_id] for f in fused)
        totals[0] += recall_at(files, q.gold, 1)
        totals[1] += recall_at(files, q.gold, 5)
        totals[2] += recall_at(files, q.gold, 10)
        totals[3] += mrr_at(files, q.gold, 10)
    n = len(questions)
    return Scores(*(t / n for t in totals))


def field_texts(rows: list[tuple[str, str, str, str]], mode: str) -> list[str]:
    """Each chunk's lexical text: ``body`` only, ``once`` (title and section path not already in the
    text, then the text: what is embedded) or ``twice`` (that context line repeated: what BM25 indexes)."""
    texts = []
    for _chunk_id, text, path, title in rows:
        once = index_text(title, ChunkInput(text, json.loads(path or "[]")))
        context = once.partition("\n")[0]
        texts.append({"body": text, "once": once, "twice": f"{context}\n{once}"}[mode])
    return texts


def fields_study(
    questions: list[Question],
    params: tuple[float, float],
    rows: list[tuple[str, str, str, str]],
    tokenizer: LexicalTokenizer,
    file_of: dict[str, str],
    dense_weight: float,
) -> None:
    """BM25-only and fused quality with the three lexical field layouts."""
    ids = [row[0] for row in rows]
    print("\n| lexical text | BM25 only R@1 | R@5 | R@10 | MRR@10 | fused R@1 | R@5 | R@10 | MRR@10 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode in ("body", "once", "twice"):
        index = LexicalIndex(*params)
        index.build(ids, list(tokenizer.tokenize_many(field_texts(rows, mode))), ids)
        variant = [
            Question(q.text, q.gold, index.search(tokenizer.tokenize(q.text), DEPTH), q.dense)
            for q in questions
        ]
        alone, fused = score(variant, file_of, 0.0), score(variant, file_of, dense_weight)
        print(f"| {mode} | {alone.row()} | {fused.row()} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None, help="reused when it holds the samples")
    parser.add_argument("--fields", action="store_true", help="also study title/section weighting")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="jikji-bench-sweep-"))
    container = samples_container(data_dir)
    index = container.index
    with container.sessions() as session:
        rows = [
            (chunk_id, text, path, title)
            for chunk_id, text, path, title, _name in session.execute(
                select(Chunk.id, Chunk.text, Chunk.section_path, Document.title, Document.display_name)
                .join(Document, Document.id == Chunk.document_id)
                .where(Chunk.version_id == Document.current_version_id)
                .order_by(Chunk.id)
            )
        ]
        file_of = {
            row.id: row.display_name
            for row in session.execute(
                select(Chunk.id, Document.display_name).join(Document, Document.id == Chunk.document_id)
            )
        }
    questions = [
        Question(
            item.question,
            item.gold,
            index.lexical.search(index.tokenizer.tokenize(item.question), DEPTH),
            index.vectors.query(index.embedder.embed_query(item.question), DEPTH),
        )
        for item in load_devset()
    ]
    print(f"machine: {machine()}")
    print(f"{len(questions)} questions, {len(rows)} chunks, lexical weight 1.0\n")
    print("| dense weight | R@1 | R@5 | R@10 | MRR@10 |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for weight in DENSE_WEIGHTS:
        print(f"| {weight} | {score(questions, file_of, weight).row()} |")
    print("\n| dense weight | lexical cands | dense cands | R@1 | R@5 | R@10 | MRR@10 |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for weight in (0.05, 0.1, 0.2):
        for lexical_depth in LEXICAL_DEPTHS:
            for dense_depth in DENSE_DEPTHS:
                result = score(questions, file_of, weight, lexical_depth, dense_depth)
                print(f"| {weight} | {lexical_depth} | {dense_depth} | {result.row()} |")
    if args.fields:
        fields_study(
            questions,
            index.lexical.params,
            rows,
            index.tokenizer,
            file_of,
            container.settings.retrieval.dense_weight,
        )


if __name__ == "__main__":
    main()
