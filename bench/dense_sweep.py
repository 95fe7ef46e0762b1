"""Fusion weights over one index built by the evaluation harness, with a noise estimate for R@1.

Usage:
  python -m bench.dense_sweep --dataset F [--corpus D] [--embedder M] [--dense 0.05,0.3,0.5]
                              [--bm25 1.2:0.75,1.5:0.5] --out DIR
  python -m bench.dense_sweep --compare A/retrieval-eval.json B/retrieval-eval.json

The first form runs ``jikji eval retrieval``'s own code once (ingestion into a temporary index, the
configured hybrid scored and reported in ``DIR/hybrid``), keeps that index, and scores it again
through the real searcher with other fusion weights: BM25 only (lexical 1, dense 0), dense only
(0, 1) and lexical 1 with each ``--dense`` weight; every row is also written as a harness report in
``DIR/<label>``. Ingestion (the slow part: about 1-2 s a document on 2 shared cores) happens once, so a
sweep costs a few seconds a row; chunking is the embedder's, as in the harness.

Noise: R@1 is a mean of 0/1 outcomes over questions, so its bootstrap standard deviation (questions
resampled with replacement, 2,000 draws) is printed beside each row, and for two runs over the same
questions the paired bootstrap deviation of their difference (``--compare``, and each row against
BM25 only): a difference under two paired deviations is treated as noise.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app.container import Container, build_container
from app.services.evaluation import (
    eval_settings,
    index_search,
    run_retrieval_eval,
    search_all,
    write_report,
)
from bench.common import machine
from core.models import Document
from core.settings import Settings, load_settings
from retrieval.embedder import Embedder
from retrieval.evaluation import (
    EvalQuestion,
    EvalReport,
    evaluate,
    is_squad,
    load_jsonl,
    load_squad,
    normalize_key,
    restrict_to_corpus,
)

DRAWS = 2000
DEPTH = 10


def bootstrap_std(hits: Sequence[float], draws: int = DRAWS, seed: int = 0) -> float:
    """Bootstrap standard deviation of the mean of ``hits`` (questions resampled with replacement)."""
    rng = random.Random(seed)
    n = len(hits)
    means = [sum(hits[rng.randrange(n)] for _ in range(n)) / n for _ in range(draws)]
    mean = sum(means) / draws
    return float((sum((m - mean) ** 2 for m in means) / (draws - 1)) ** 0.5)


def top1(report: dict[str, object]) -> dict[str, float]:
    """Each question's R@1 outcome (1.0 when its first gold document ranks first), by question id."""
    questions = report["questions"]
    assert isinstance(questions, list)
    return {str(q["id"]): 1.0 if q["first_rank"] == 1 else 0.0 for q in questions}


def paired(a: dict[str, float], b: dict[str, float]) -> tuple[float, float]:
    """R@1 of ``b`` minus ``a`` over their common questions, and its paired bootstrap deviation."""
    ids = sorted(set(a) & set(b))
    diffs = [b[i] - a[i] for i in ids]
    return sum(diffs) / len(diffs), bootstrap_std(diffs)


def _keys(container: Container, squad_keys: set[str]) -> dict[str, str]:
    """Document id → dataset key, as the harness named the documents it ingested."""
    with container.sessions() as session:
        names = {
            row.id: row.display_name for row in session.execute(select(Document.id, Document.display_name))
        }
    if not squad_keys:
        return {doc_id: normalize_key(name) for doc_id, name in names.items()}
    return {
        doc_id: name.removesuffix(".txt") if name.removesuffix(".txt") in squad_keys else name
        for doc_id, name in names.items()
    }


def _questions(dataset: Path) -> tuple[list[EvalQuestion], set[str]]:
    if is_squad(dataset):
        contexts, questions = load_squad(dataset)
        return questions, {key for key, _ in contexts}
    return load_jsonl(dataset, None), set()


@dataclass(frozen=True, slots=True)
class KeptIndex:
    """A question set ingested by the harness and kept: the open container, the questions whose gold
    documents it holds, and each document id's dataset key."""

    container: Container
    questions: list[EvalQuestion]
    keys: dict[str, str]


@contextmanager
def kept_index(dataset: Path, corpus: Path | None) -> Iterator[KeptIndex]:
    """Ingest ``dataset`` once with the harness at the shipped defaults, yield it open, then delete it."""
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="jikji-kept-report-") as reports:
        report = run_retrieval_eval(
            settings,
            dataset,
            baseline=None,
            corpus=corpus,
            out_dir=Path(reports),
            k=DEPTH,
            limit=None,
            embedder=None,
            keep=True,
        )
    data_dir = Path(report.meta["data_dir"])
    container = build_container(eval_settings(settings, data_dir, None, None))
    try:
        questions, squad_keys = _questions(dataset)
        keys = _keys(container, squad_keys)
        container.index.refresh()
        yield KeptIndex(container, restrict_to_corpus(questions, keys.values()).kept, keys)
    finally:
        container.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def score(settings: Settings, update: dict[str, float], dataset: Path, shared: Embedder) -> EvalReport:
    """The kept index searched through the real searcher with ``update`` applied to the retrieval
    settings (fusion weights, dense candidates, BM25 k1 and b)."""
    retrieval = settings.retrieval.model_copy(update=update)
    questions, squad_keys = _questions(dataset)
    container = build_container(settings.model_copy(update={"retrieval": retrieval}), embedder=shared)
    try:
        keys = _keys(container, squad_keys)
        kept = restrict_to_corpus(questions, keys.values()).kept
        ranked, latencies = search_all(index_search(container), kept, keys, DEPTH)
    finally:
        container.close()
    meta = {
        "lexical_weight": retrieval.lexical_weight,
        "dense_weight": retrieval.dense_weight,
        "dense_candidates": retrieval.dense_candidates,
        "bm25_k1": retrieval.bm25_k1,
        "bm25_b": retrieval.bm25_b,
        "embedder": settings.embedding.model,
    }
    return evaluate(ranked, kept, latencies, meta=meta)


def sweep(args: argparse.Namespace) -> None:
    settings = load_settings()
    hybrid = run_retrieval_eval(
        settings,
        args.dataset,
        baseline=None,
        corpus=args.corpus,
        out_dir=args.out / "hybrid",
        k=DEPTH,
        limit=None,
        embedder=args.embedder,
        keep=True,
    )
    data_dir = Path(hybrid.meta["data_dir"])
    run = eval_settings(settings, data_dir, None, args.embedder)
    first = build_container(run)
    shared = first.embedder
    first.close()
    grid: list[tuple[str, dict[str, float]]] = [("bm25", {"lexical_weight": 1.0, "dense_weight": 0.0})]
    grid += [("dense", {"lexical_weight": 0.0, "dense_weight": 1.0})]
    grid += [(f"dense-{w:g}", {"lexical_weight": 1.0, "dense_weight": w}) for w in args.dense]
    grid += [
        (f"dense-{w:g}-cand{c}", {"lexical_weight": 1.0, "dense_weight": w, "dense_candidates": c})
        for w in args.dense
        for c in args.dense_candidates
    ]
    grid += [(f"k1-{k1:g}-b-{b:g}", {"bm25_k1": k1, "bm25_b": b}) for k1, b in args.bm25]
    rows: list[tuple[str, EvalReport]] = [("hybrid (configured)", hybrid)]
    try:
        for label, weights in grid:
            report = score(run, weights, args.dataset, shared)
            report.label = label
            write_report(report, args.out / label)
            rows.append((label, report))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"machine: {machine()}")
    print(
        f"{args.dataset}: {hybrid.n_questions} questions, {hybrid.meta['chunks']} chunks, {run.embedding.model}"
    )
    reference = top1(json.loads(rows[1][1].to_json()))
    print(
        "| run | lexical | dense | dense cands | R@1 | ± boot | Δ vs BM25 | ± paired | R@5 | MRR@10 | p50 ms | p95 ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, report in rows:
        outcomes = top1(json.loads(report.to_json()))
        delta, spread = paired(reference, outcomes)
        m = report.metrics
        print(
            f"| {label} | {report.meta['lexical_weight']} | {report.meta['dense_weight']} | "
            f"{report.meta.get('dense_candidates', run.retrieval.dense_candidates)} | {m['R@1']:.3f} | "
            f"{bootstrap_std(list(outcomes.values())):.3f} | {delta:+.3f} | {spread:.3f} | {m['R@5']:.3f} | "
            f"{m['MRR@10']:.3f} | {report.latency_p50_ms:.1f} | {report.latency_p95_ms:.1f} |"
        )


def compare(paths: Sequence[Path]) -> None:
    a, b = (top1(json.loads(p.read_text(encoding="utf-8"))) for p in paths)
    delta, spread = paired(a, b)
    print(
        f"R@1 {paths[1]} − {paths[0]}: {delta:+.3f} (paired bootstrap std {spread:.3f}, n={len(set(a) & set(b))})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--embedder", default=None, help="embedding model override")
    parser.add_argument(
        "--dense", type=lambda s: [float(w) for w in s.split(",")], default=[0.05, 0.3, 0.5, 0.7]
    )
    parser.add_argument(
        "--dense-candidates",
        type=lambda s: [int(c) for c in s.split(",")],
        default=[],
        help="also score each --dense weight with these dense candidate depths",
    )
    parser.add_argument(
        "--bm25",
        type=lambda s: [tuple(float(x) for x in pair.split(":")) for pair in s.split(",")],
        default=[],
        help="also score these BM25 k1:b pairs at the configured fusion, e.g. 1.2:0.75,1.5:0.5",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--compare", type=Path, nargs=2, default=None)
    args = parser.parse_args()
    if args.compare:
        compare(args.compare)
        return
    if args.dataset is None:
        parser.error("--dataset is required")
    args.out = args.out or Path(tempfile.mkdtemp(prefix="jikji-dense-sweep-"))
    sweep(args)


if __name__ == "__main__":
    main()
