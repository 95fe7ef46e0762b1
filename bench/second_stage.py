"""A second stage that reads the passage (issue 14 item 4), measured before it is adopted.

Usage: python -m bench.second_stage --dataset F [--corpus D] [--betas 0.5,1,2,3,5]

Ingests the set once into a temporary index (the harness's own code, shipped defaults). For every
question the searcher's fused candidates (top 20) are re-scored: fused score + ``beta`` × the share of
the question's Kiwi terms that the candidate's best single sentence (or ① clause) holds, so a passage
where the question's terms meet in one sentence can overtake one where they are scattered. R@1 of each
``beta`` is printed with the paired bootstrap deviation of its difference from ``beta`` 0 (the
shipped ranking).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from sqlalchemy import select

from bench.common import machine
from bench.dense_sweep import kept_index, paired
from core.models import Chunk

CANDIDATES = 20
SENTENCE_RE = re.compile(r"(?<=[.!?。])\s+|\n+|(?=[①-⑳])")

Candidate = tuple[float, float, str]  # fused score, best sentence coverage, document key


def candidates(dataset: Path, corpus: Path | None) -> list[tuple[str, list[str], list[Candidate]]]:
    """Per question: its id, gold documents and the re-scorable candidates in fused order."""
    with kept_index(dataset, corpus) as kept:
        index, searcher = kept.container.index, kept.container.searcher
        with kept.container.sessions() as session:
            text_of = {row[0]: row[1] for row in session.execute(select(Chunk.id, Chunk.text))}
        rows = []
        for question in kept.questions:
            pending = searcher._embed_pool().submit(
                index.embedder.embed_query, searcher.dense_text(question.question)
            )
            fused = searcher._candidates(question.question, None, CANDIDATES, pending)[:CANDIDATES]
            terms = set(index.tokenizer.tokenize(question.question))
            scored = []
            for hit in fused:
                sentences = [s for s in SENTENCE_RE.split(text_of.get(hit.chunk_id, "")) if s.strip()]
                best = max(
                    (len(terms & set(index.tokenizer.tokenize(s))) / len(terms) for s in sentences if terms),
                    default=0.0,
                )
                document = kept.keys.get(index.lexical.document_of(hit.chunk_id) or "", "?")
                scored.append((hit.score, best, document))
            rows.append((str(question.id), sorted(question.gold), scored))
        return rows


def top1(rows: list[tuple[str, list[str], list[Candidate]]], beta: float) -> dict[str, float]:
    """R@1 outcome per question when candidates are ranked by fused score + ``beta`` × coverage."""
    outcomes = {}
    for question_id, gold, scored in rows:
        ranked = sorted(enumerate(scored), key=lambda item: (-(item[1][0] + beta * item[1][1]), item[0]))
        outcomes[question_id] = 1.0 if ranked and ranked[0][1][2] in gold else 0.0
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--betas", type=lambda s: [float(b) for b in s.split(",")], default=[0.5, 1, 2, 3, 5])
    args = parser.parse_args()
    rows = candidates(args.dataset, args.corpus)
    reference = top1(rows, 0.0)
    print(f"machine: {machine()}")
    print(f"{args.dataset}: {len(rows)} questions, top {CANDIDATES} fused candidates re-scored")
    print("| beta | R@1 | Δ vs shipped | ± paired |")
    print("| ---: | ---: | ---: | ---: |")
    print(f"| 0 (shipped) | {sum(reference.values()) / len(reference):.3f} | | |")
    for beta in args.betas:
        outcomes = top1(rows, beta)
        delta, spread = paired(reference, outcomes)
        print(f"| {beta:g} | {sum(outcomes.values()) / len(outcomes):.3f} | {delta:+.3f} | {spread:.3f} |")


if __name__ == "__main__":
    main()
