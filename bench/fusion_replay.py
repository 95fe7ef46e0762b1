"""Fusion variants replayed offline over both legs' candidates, with a paired noise estimate for R@1.

Usage:
  python -m bench.fusion_replay --dataset F [--corpus D] [--legs FILE]

Ingests the question set once into a temporary index (the harness's own code, shipped defaults),
then asks each leg for its top 100 candidates per question, with and without answer nouns
(:func:`core.question_types.answer_nouns`), and keeps them in ``--legs`` (JSON; an existing file is
reused, so further variants cost seconds). Each variant then re-fuses those candidates with the
searcher's own :func:`retrieval.fusion.weighted_fusion` and ranks documents as the harness does.
Noise: the paired bootstrap deviation of each variant's R@1 difference from the shipped defaults
(see :mod:`bench.dense_sweep`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import machine
from bench.dense_sweep import bootstrap_std, kept_index, paired
from retrieval.fusion import Normalisation, weighted_fusion
from retrieval.lexical import ScoredId

DEPTH = 100


@dataclass(frozen=True, slots=True)
class Variant:
    """One fusion setting: normalisation, weights, candidate depths, where answer nouns go."""

    normalisation: Normalisation = "zscore"
    dense_weight: float = 1.0
    lexical_candidates: int = 50
    dense_candidates: int = 20
    nouns_lexical: bool = False
    nouns_dense: bool = True


VARIANTS = {
    "defaults (zscore, nouns in dense)": Variant(),
    "max/range, no nouns (before)": Variant("max", nouns_dense=False),
    "max/range, nouns in both": Variant("max", nouns_lexical=True),
    "max/range, nouns in dense": Variant("max"),
    "zscore, no nouns": Variant(nouns_dense=False),
    "zscore, nouns in both": Variant(nouns_lexical=True),
    "zscore, dense weight 0.8": Variant(dense_weight=0.8),
    "zscore, dense weight 1.3": Variant(dense_weight=1.3),
    "zscore, 50 dense candidates": Variant(dense_candidates=50),
    "BM25 only": Variant(dense_weight=0.0),
}


def dump_legs(dataset: Path, corpus: Path | None, out: Path) -> None:
    """Both legs' top candidates per question (plain query and with answer nouns) into ``out``."""
    with kept_index(dataset, corpus) as kept:
        index, searcher = kept.container.index, kept.container.searcher
        rows: list[dict[str, Any]] = []
        for question in kept.questions:
            row: dict[str, Any] = {"id": question.id, "gold": sorted(question.gold)}
            for label, text in (
                ("plain", question.question),
                ("nouns", searcher.dense_text(question.question)),
            ):
                lexical = index.lexical.search(index.tokenizer.tokenize(text), DEPTH)
                dense = index.vectors.query(index.embedder.embed_query(text), DEPTH, None)
                row[label] = {
                    "lexical": [(h.chunk_id, h.score) for h in lexical],
                    "dense": [(h.chunk_id, h.score) for h in dense],
                }
            rows.append(row)
        chunk_ids = {c for r in rows for q in ("plain", "nouns") for leg in r[q].values() for c, _ in leg}
        document_of = {c: kept.keys.get(index.lexical.document_of(c) or "", "?") for c in chunk_ids}
    out.write_text(json.dumps({"rows": rows, "document_of": document_of}, ensure_ascii=False))


def top1(legs: dict[str, Any], variant: Variant) -> dict[str, float]:
    """Each question's R@1 outcome under ``variant`` (1.0 when a gold document ranks first)."""
    outcomes: dict[str, float] = {}
    for row in legs["rows"]:
        lexical = row["nouns" if variant.nouns_lexical else "plain"]["lexical"][: variant.lexical_candidates]
        dense = row["nouns" if variant.nouns_dense else "plain"]["dense"][: variant.dense_candidates]
        fused = weighted_fusion(
            [ScoredId(c, s) for c, s in lexical],
            [ScoredId(c, s) for c, s in dense] if variant.dense_weight > 0 else [],
            1.0,
            variant.dense_weight,
            variant.normalisation,
        )
        first = legs["document_of"][fused[0].chunk_id] if fused else None
        outcomes[str(row["id"])] = 1.0 if first in row["gold"] else 0.0
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument(
        "--legs",
        type=Path,
        default=None,
        help="candidate dump (default: /tmp/jikji-legs-<dataset name>.json)",
    )
    args = parser.parse_args()
    legs_path = args.legs or Path(f"/tmp/jikji-legs-{args.dataset.stem}.json")
    if not legs_path.exists():
        dump_legs(args.dataset, args.corpus, legs_path)
    legs = json.loads(legs_path.read_text(encoding="utf-8"))
    print(f"machine: {machine()}")
    print(f"{args.dataset}: {len(legs['rows'])} questions; candidates from {legs_path}")
    reference = top1(legs, VARIANTS["defaults (zscore, nouns in dense)"])
    print("| variant | R@1 | ± boot | Δ vs defaults | ± paired |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, variant in VARIANTS.items():
        outcomes = top1(legs, variant)
        delta, spread = paired(reference, outcomes)
        r1 = sum(outcomes.values()) / len(outcomes)
        print(
            f"| {label} | {r1:.3f} | {bootstrap_std(list(outcomes.values())):.3f} | {delta:+.3f} | {spread:.3f} |"
        )


if __name__ == "__main__":
    main()
