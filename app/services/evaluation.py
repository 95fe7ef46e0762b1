"""Retrieval evaluation, one code path for the CLI (``jikji eval retrieval``) and the API (``/api/v1/eval``).

Two entry points share the searching and scoring:
- :func:`run_retrieval_eval` ingests a question set's documents through the real pipeline into a
  fresh temporary data directory (SQLite and embedded Chroma, whatever the configured stores are);
- :func:`evaluate_index` scores the live index, matching documents to gold files by file name.
Every question goes through the real searcher with an admin scope (:func:`search_all`), and
:mod:`retrieval.evaluation` turns the rankings into metrics.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select

from app.container import Container, build_container
from app.services.ingest_files import discover
from core.models import Chunk, Document
from core.settings import ChromaSettings, DatabaseSettings, Settings
from ingest.errors import IngestError
from ingest.pipeline import IngestRequest
from llm.client import ChatModel
from retrieval.evaluation import (
    BASELINES,
    RECALL_CUTOFFS,
    DatasetError,
    EvalQuestion,
    EvalReport,
    dedupe,
    evaluate,
    is_squad,
    load_jsonl,
    load_squad,
    normalize_key,
    percentile,
    restrict_to_corpus,
)
from retrieval.lexical import LexicalIndex
from retrieval.tokenizer import KiwiTokenizer, LexicalTokenizer, PlainKiwiTokenizer, WhitespaceTokenizer
from retrieval.types import AccessScope

DEFAULT_LABEL = "hybrid"
PROGRESS_EVERY = 500
MIN_SEARCH_DEPTH = 10
REPORT_JSON = "retrieval-eval.json"
REPORT_MD = "retrieval-eval.md"
PLAIN_BM25_K1 = 1.5  # bm25s's defaults: the reference baseline is deliberately untuned
PLAIN_BM25_B = 0.75
_WEIGHTS: dict[str, dict[str, float]] = {
    "bm25": {"dense_weight": 0.0},
    "whitespace-bm25": {"dense_weight": 0.0},
    "dense": {"lexical_weight": 0.0, "dense_weight": 1.0},
}


@dataclass
class IngestedCorpus:
    """What ingestion produced: document id → dataset key, and each key's indexed text."""

    keys: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    chunks: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def say(message: str) -> None:
    """Print a progress or warning line to stderr (reports go to stdout and files)."""
    print(message, file=sys.stderr, flush=True)


def eval_settings(settings: Settings, data_dir: Path, baseline: str | None, embedder: str | None) -> Settings:
    """A copy of ``settings`` on ``data_dir`` (SQLite, embedded Chroma) with the baseline's weights."""
    if baseline is not None and baseline not in BASELINES:
        msg = f"unknown baseline {baseline!r}; expected one of {', '.join(BASELINES)}"
        raise ValueError(msg)
    embedding = settings.embedding
    if baseline == "plain-bm25":
        embedder = "hashing"  # the reference searches text only: no model needed to ingest
    if embedder:
        embedding = embedding.model_copy(update={"model": embedder})
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "database": DatabaseSettings(),
            "chroma": ChromaSettings(collection=settings.chroma.collection),
            "embedding": embedding,
            "retrieval": settings.retrieval.model_copy(update=_WEIGHTS.get(baseline or "", {})),
        }
    )


@contextmanager
def temporary_index(
    settings: Settings,
    *,
    baseline: str | None = None,
    embedder: str | None = None,
    keep: bool = False,
    tokenizer: LexicalTokenizer | None = None,
    chat_model: ChatModel | None = None,
) -> Iterator[Container]:
    """A container on a fresh temporary data directory (:func:`eval_settings`), empty until ingested into.

    The container is closed on the way out and its directory removed, unless ``keep``.
    ``tokenizer`` and ``chat_model`` replace Kiwi and the configured model (tests pass fakes).
    """
    data_dir = Path(tempfile.mkdtemp(prefix="jikji-eval-"))
    try:
        run_settings = eval_settings(settings, data_dir, baseline, embedder)
        container = build_container(run_settings, tokenizer=tokenizer, chat_model=chat_model)
        try:
            yield container
        finally:
            container.close()
    finally:
        if keep:
            say(f"데이터 보존 / data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def run_retrieval_eval(
    settings: Settings,
    dataset: Path,
    *,
    baseline: str | None,
    corpus: Path | None,
    out_dir: Path,
    k: int,
    limit: int | None,
    embedder: str | None,
    keep: bool,
    tokenizer: LexicalTokenizer | None = None,
) -> EvalReport:
    """Evaluate retrieval on ``dataset`` and write ``retrieval-eval.json``/``.md`` into ``out_dir``.

    ``baseline``: None (the configured hybrid), ``bm25`` (Kiwi-BM25 only), ``whitespace-bm25``
    (BM25 over whitespace tokens only) or ``dense`` (dense only). ``tokenizer`` replaces Kiwi
    (tests pass a shared one); the whitespace baseline always uses whitespace tokens.
    Raises :class:`retrieval.evaluation.DatasetError` for an unreadable question set.
    """
    if baseline is not None and baseline not in BASELINES:
        msg = f"unknown baseline {baseline!r}; expected one of {', '.join(BASELINES)}"
        raise ValueError(msg)
    squad = is_squad(dataset)
    if not squad and corpus is None:
        msg = f"{dataset}: JSONL questions need --corpus DIR (the documents to search)"
        raise DatasetError(msg)
    if not squad:
        load_jsonl(dataset, {})  # fail on a malformed line before minutes of ingestion
    plain = None
    if baseline == "whitespace-bm25":
        tokenizer = WhitespaceTokenizer()
    elif baseline == "plain-bm25":
        plain = PlainKiwiTokenizer(tokenizer if isinstance(tokenizer, KiwiTokenizer) else None)
    with temporary_index(
        settings, baseline=baseline, embedder=embedder, keep=keep, tokenizer=tokenizer
    ) as container:
        report = _run(container, dataset, squad=squad, corpus=corpus, k=k, limit=limit, plain=plain)
    run_settings = container.settings
    report.label = baseline or DEFAULT_LABEL
    report.meta = {**_describe(run_settings, baseline, dataset, corpus), **report.meta}
    if keep:
        report.meta["data_dir"] = str(run_settings.data_dir)
    write_report(report, out_dir)
    return report


def _run(
    container: Container,
    dataset: Path,
    *,
    squad: bool,
    corpus: Path | None,
    k: int,
    limit: int | None,
    plain: PlainKiwiTokenizer | None,
) -> EvalReport:
    if squad:
        contexts, questions = load_squad(dataset)
        ingested = ingest_texts(container, contexts)
    else:
        assert corpus is not None
        ingested = ingest_corpus(container, corpus)
        ingested.texts = document_texts(container, ingested.keys)
        questions = load_jsonl(dataset, ingested.texts)
    restricted = restrict_to_corpus(questions, ingested.keys.values())
    _warn_restricted(len(restricted.dropped), restricted.unknown_keys)
    kept = restricted.kept[:limit] if limit else restricted.kept
    if not kept:
        msg = f"{dataset}: no question has a gold document in the corpus"
        raise DatasetError(msg)
    depth = max(MIN_SEARCH_DEPTH, k)
    if plain is None:
        ranked, latencies = search_all(index_search(container), kept, ingested.keys, depth)
    else:
        search = plain_bm25_search(ingested.texts, plain)
        ranked, latencies = search_all(search, kept, {key: key for key in ingested.texts}, depth)
    meta = {
        "documents": len(ingested.keys),
        "chunks": ingested.chunks,
        "chunk_stats": chunk_statistics(container),
        "ingest_failed": len(ingested.failed),
        "ingest_seconds": round(ingested.seconds, 1),
        "questions_dropped": len(restricted.dropped),
        "search_depth_chunks": depth,
    }
    return evaluate(ranked, kept, latencies, recall_cutoffs=sorted({*RECALL_CUTOFFS, k}), meta=meta)


def _warn_restricted(dropped: int, unknown: frozenset[str]) -> None:
    if unknown:
        shown = ", ".join(sorted(unknown)[:5]) + (" …" if len(unknown) > 5 else "")
        say(f"경고 / warning: {len(unknown)} gold ids not in the corpus: {shown}")
    if dropped:
        say(f"경고 / warning: 정답 문서가 없는 질문 {dropped}개 제외 / {dropped} questions without gold")


# --- ingestion ----------------------------------------------------------------------------


def ingest_texts(container: Container, contexts: Sequence[tuple[str, str]]) -> IngestedCorpus:
    """Ingest each ``(doc_key, text)`` as a public ``.txt`` file named by its key."""
    requests = (
        (key, IngestRequest(text.encode("utf-8"), _txt_name(key), source_key=f"eval:{key}", is_public=True))
        for key, text in contexts
    )
    ingested = _ingest(container, requests, len(contexts))
    ingested.texts = dict(contexts)
    return ingested


def _txt_name(key: str) -> str:
    return key if key.endswith(".txt") else f"{key}.txt"


def ingest_corpus(container: Container, corpus: Path) -> IngestedCorpus:
    """Ingest every supported file under ``corpus``; a document's key is its file name (NFC)."""
    files = discover([corpus])
    if not files:
        msg = f"{corpus}: no supported documents found"
        raise DatasetError(msg)
    requests = (
        (
            normalize_key(path.name),
            IngestRequest(path.read_bytes(), path.name, source_key=f"eval:{path.resolve()}", is_public=True),
        )
        for path in files
    )
    return _ingest(container, requests, len(files))


def _ingest(
    container: Container, requests: Iterable[tuple[str, IngestRequest]], total: int
) -> IngestedCorpus:
    say(f"색인 시작 / ingesting {total} documents")
    ingested = IngestedCorpus()
    started = time.perf_counter()
    for done, (key, request) in enumerate(requests, start=1):
        try:
            outcome = container.pipeline.ingest(request)
        except IngestError as exc:
            ingested.failed.append(key)
            say(f"  실패 / failed: {key}: {exc}")
        else:
            if outcome.document_id in ingested.keys:
                say(f"  경고 / warning: {key} duplicates {ingested.keys[outcome.document_id]}")
            ingested.keys[outcome.document_id] = key
            ingested.chunks += outcome.chunk_count
        _progress("색인 / ingested", done, total, started)
    ingested.seconds = time.perf_counter() - started
    return ingested


def document_texts(container: Container, keys: dict[str, str]) -> dict[str, str]:
    """Each ingested document's text as indexed (its chunks in order, PII policy applied)."""
    texts: dict[str, list[str]] = {}
    with container.sessions() as session:
        rows = session.execute(
            select(Chunk.document_id, Chunk.text).order_by(Chunk.document_id, Chunk.ordinal)
        )
        for document_id, text in rows:
            if document_id in keys:
                texts.setdefault(keys[document_id], []).append(text)
    return {key: "\n".join(parts) for key, parts in texts.items()}


# --- searching ----------------------------------------------------------------------------


SearchFn = Callable[[str, int], list[str]]
"""A search under evaluation: question and depth → document ids, best first."""


def index_search(container: Container) -> SearchFn:
    """The container's hybrid searcher with an admin scope (every document counts)."""
    searcher, scope = container.searcher, AccessScope.admin()
    return lambda question, depth: [hit.document_id for hit in searcher.search(question, scope, k=depth)]


def plain_bm25_search(texts: Mapping[str, str], tokenizer: PlainKiwiTokenizer) -> SearchFn:
    """The reference baseline: BM25 with bm25s's defaults over Kiwi forms of whole documents.

    Document ids are the keys of ``texts``.
    """
    keys = list(texts)
    index = LexicalIndex(k1=PLAIN_BM25_K1, b=PLAIN_BM25_B)
    index.build(keys, list(tokenizer.tokenize_many(texts[key] for key in keys)), keys)
    return lambda question, depth: [hit.chunk_id for hit in index.search(tokenizer.tokenize(question), depth)]


def search_all(
    search: SearchFn, questions: Sequence[EvalQuestion], keys: Mapping[str, str], depth: int
) -> tuple[list[list[str]], list[float]]:
    """Each question's ranked document keys and the latency (ms) of its search call.

    The one search loop of every evaluation: the CLI's temporary index, the API's live index and the
    reference baseline.
    """
    search(questions[0].question, depth)  # warm-up: loads BM25 and the models
    say(f"검색 시작 / searching {len(questions)} questions")
    ranked: list[list[str]] = []
    latencies: list[float] = []
    started = time.perf_counter()
    for done, question in enumerate(questions, start=1):
        t0 = time.perf_counter()
        found = search(question.question, depth)
        latencies.append((time.perf_counter() - t0) * 1000)
        ranked.append(dedupe(keys.get(document_id, f"?{document_id}") for document_id in found))
        _progress("검색 / searched", done, len(questions), started)
    return ranked, latencies


def _progress(what: str, done: int, total: int, started: float) -> None:
    if done % PROGRESS_EVERY == 0 or done == total:
        say(f"  {what} {done}/{total} ({time.perf_counter() - started:.1f}s)")


# --- reporting ----------------------------------------------------------------------------


def _describe(settings: Settings, baseline: str | None, dataset: Path, corpus: Path | None) -> dict[str, Any]:
    lexical = {"whitespace-bm25": "whitespace", "plain-bm25": "kiwi-plain"}.get(baseline or "", "kiwi")
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": str(dataset),
        "corpus": str(corpus) if corpus else None,
        "baseline": baseline or DEFAULT_LABEL,
        "tokenizer": lexical,
        "embedder": settings.embedding.model,
        "lexical_weight": settings.retrieval.lexical_weight,
        "dense_weight": settings.retrieval.dense_weight,
        "fusion": settings.retrieval.fusion,
        "answer_nouns": settings.retrieval.answer_nouns,
    }


def write_report(report: EvalReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``retrieval-eval.json`` and ``retrieval-eval.md`` into ``out_dir``; returns both paths."""
    return write_report_files(report, out_dir / REPORT_JSON, out_dir / REPORT_MD)


class Report(Protocol):
    """What a report file is written from."""

    def to_json(self) -> str:
        """The report as JSON."""
        ...

    def to_markdown(self) -> str:
        """The report as Markdown."""
        ...


def write_report_files(report: Report, json_path: Path, md_path: Path) -> tuple[Path, Path]:
    """Write a report as JSON and as Markdown (creating their folder); returns both paths."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(report.to_json() + "\n", encoding="utf-8")
    md_path.write_text(report.to_markdown(), encoding="utf-8")
    return json_path, md_path


# --- the live index -----------------------------------------------------------------------


def evaluate_index(container: Container, dataset: Path, limit: int | None) -> EvalReport:
    """Score the live index on ``dataset`` (JSONL with ``gold_files``), matching documents by file name."""
    keys = document_keys(container)
    restricted = restrict_to_corpus(load_jsonl(dataset, None), keys.values())
    kept = restricted.kept[:limit] if limit else restricted.kept
    if not kept:
        msg = "no question has a gold document in the current index (upload the sample documents first)"
        raise DatasetError(msg)
    ranked, latencies = search_all(index_search(container), kept, keys, MIN_SEARCH_DEPTH)
    retrieval = container.settings.retrieval
    meta = {
        "documents": len(keys),
        "chunk_stats": chunk_statistics(container),
        "questions_total": len(restricted.kept) + len(restricted.dropped),
        "questions_without_gold_in_index": len(restricted.dropped),
        "search_depth_chunks": MIN_SEARCH_DEPTH,
        "embedder": container.settings.embedding.model,
        "lexical_weight": retrieval.lexical_weight,
        "dense_weight": retrieval.dense_weight,
        "fusion": retrieval.fusion,
        "answer_nouns": retrieval.answer_nouns,
    }
    return evaluate(ranked, kept, latencies, label="current-index", meta=meta)


def chunk_statistics(container: Container) -> dict[str, float]:
    """How the index cut its documents: chunks per document and characters per chunk."""
    with container.sessions() as session:
        rows = session.execute(select(Chunk.document_id, func.length(Chunk.text))).all()
    per_document: dict[str, int] = {}
    for document_id, _length in rows:
        per_document[document_id] = per_document.get(document_id, 0) + 1
    lengths = [float(length or 0) for _doc, length in rows]
    counts = [float(n) for n in per_document.values()]
    if not rows:
        return {"chunks": 0, "documents": 0}
    return {
        "chunks": len(rows),
        "documents": len(per_document),
        "chunks_per_document_mean": round(statistics.fmean(counts), 2),
        "chunks_per_document_max": max(counts),
        "chars_per_chunk_mean": round(statistics.fmean(lengths), 1),
        "chars_per_chunk_p50": round(percentile(lengths, 50), 1),
        "chars_per_chunk_p95": round(percentile(lengths, 95), 1),
    }


def document_keys(container: Container) -> dict[str, str]:
    """Every document id of the index → its normalised file name (the key gold files are given by)."""
    with container.sessions() as session:
        rows = session.execute(select(Document.id, Document.display_name))
        return {doc_id: normalize_key(name) for doc_id, name in rows}
