"""Retrieval evaluation: question sets, rank metrics and the report (pure: no index access).

Relevance is binary and by document. A search returns chunks, several of which may come from one
document, so hits are first reduced to documents in rank order (:func:`dedupe`); the metrics are
computed on that list:

- ``R@k`` — the share of questions with at least one gold document among the first ``k``
  documents (success@k; with one gold document per question it is recall@k);
- ``MRR@10`` — the mean of ``1/rank`` of the first gold document (0 when not in the first 10);
- ``nDCG@10`` — binary-gain DCG over the ideal DCG of ``min(|gold|, 10)`` gold documents.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.question_types import QUESTION_TYPES, question_type

RECALL_CUTOFFS = (1, 5, 10)
BASELINES = ("bm25", "whitespace-bm25", "dense", "plain-bm25")
"""What a change is compared against: one leg of the hybrid alone, BM25 over whitespace tokens, or
``plain-bm25``, the reference (bm25s defaults over Kiwi forms of whole documents, none of Jikji's
chunking, bigrams or weights)."""
RANK_CUTOFF = 10
TOP_KEPT = 10
_SPACE_RE = re.compile(r"\s+")


class DatasetError(ValueError):
    """A question set that cannot be read; the message says where and why."""


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One question and the keys of the documents that answer it."""

    id: str
    question: str
    gold: frozenset[str]


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """How one question fared: rank of its first gold document and the documents returned."""

    id: str
    first_rank: int | None
    top: tuple[str, ...]


@dataclass(slots=True)
class EvalReport:
    """Aggregate metrics of one evaluation run, with per-question results and run details."""

    label: str
    n_questions: int
    metrics: dict[str, float]
    latency_p50_ms: float
    latency_p95_ms: float
    results: list[QuestionResult] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    by_type: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per question type (:mod:`core.question_types`): ``n``, ``R@1``, ``R@5``, ``MRR@10``."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the whole report."""
        return {
            "label": self.label,
            "n_questions": self.n_questions,
            "metrics": {name: round(value, 4) for name, value in self.metrics.items()},
            "latency_ms": {"p50": round(self.latency_p50_ms, 2), "p95": round(self.latency_p95_ms, 2)},
            "meta": self.meta,
            "by_type": {
                name: {key: round(value, 4) for key, value in row.items()}
                for name, row in self.by_type.items()
            },
            "questions": [{"id": r.id, "first_rank": r.first_rank, "top": list(r.top)} for r in self.results],
        }

    def to_json(self) -> str:
        """The report as indented JSON (Korean kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_markdown(self) -> str:
        """The report as a Markdown document: a metric table, then the run details."""
        lines = [
            f"# Retrieval evaluation — {self.label}",
            "",
            f"{self.n_questions} questions.",
            "",
            *table_lines([self], markdown=True),
        ]
        if self.by_type:
            lines += ["", "By question type:", "", *type_lines(self.by_type, markdown=True)]
        if self.meta:
            lines += ["", "| setting | value |", "| --- | --- |"]
            lines += [f"| {key} | {_cell(value)} |" for key, value in self.meta.items()]
        return "\n".join(lines) + "\n"

    def to_table(self) -> str:
        """The metric line, then the breakdown by question type, as fixed-width text (for the terminal)."""
        lines = table_lines([self], markdown=False)
        if self.by_type:
            lines += ["", *type_lines(self.by_type, markdown=False)]
        return "\n".join(lines)


def type_lines(by_type: Mapping[str, Mapping[str, float]], *, markdown: bool) -> list[str]:
    """Rows of the per-question-type table (type, n, R@1, R@5, MRR@10)."""
    header = ["type", "n", "R@1", "R@5", f"MRR@{RANK_CUTOFF}"]
    rows = [
        [name, str(int(row["n"])), *(f"{row[key]:.3f}" for key in header[2:])]
        for name, row in by_type.items()
    ]
    return _markdown_table(header, rows) if markdown else _text_table(header, rows)


def table_lines(reports: Sequence[EvalReport], *, markdown: bool) -> list[str]:
    """Rows of a metric table over ``reports`` (one row each), Markdown or fixed-width text."""
    names = list(reports[0].metrics) if reports else []
    header = ["run", *names, "p50 ms", "p95 ms", "n"]
    rows = [_row(report, names) for report in reports]
    return _markdown_table(header, rows) if markdown else _text_table(header, rows)


def _row(report: EvalReport, names: Sequence[str]) -> list[str]:
    return [
        report.label,
        *(f"{report.metrics[name]:.3f}" for name in names),
        f"{report.latency_p50_ms:.1f}",
        f"{report.latency_p95_ms:.1f}",
        str(report.n_questions),
    ]


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [header, ["---"] + ["---:"] * (len(header) - 1), *rows]
    return ["| " + " | ".join(line) + " |" for line in lines]


def _text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return [
        "  ".join(
            [line[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True))]
        )
        for line in lines
    ]


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


# --- metrics ------------------------------------------------------------------------------


def dedupe(doc_keys: Iterable[str]) -> list[str]:
    """Document keys in first-seen order, each once (several chunks of one document collapse)."""
    return list(dict.fromkeys(doc_keys))


def first_rank(ranked: Sequence[str], gold: frozenset[str], k: int) -> int | None:
    """1-based rank of the first gold document within the first ``k``, or None."""
    return next((i for i, doc in enumerate(ranked[:k], start=1) if doc in gold), None)


def recall_at(ranked: Sequence[str], gold: frozenset[str], k: int) -> float:
    """1.0 when a gold document is among the first ``k`` of ``ranked``, else 0.0."""
    return 1.0 if first_rank(ranked, gold, k) is not None else 0.0


def mrr_at(ranked: Sequence[str], gold: frozenset[str], k: int) -> float:
    """Reciprocal rank of the first gold document within the first ``k`` (0.0 when absent)."""
    rank = first_rank(ranked, gold, k)
    return 1.0 / rank if rank is not None else 0.0


def ndcg_at(ranked: Sequence[str], gold: frozenset[str], k: int) -> float:
    """Binary-relevance nDCG over the first ``k`` documents of ``ranked`` (0.0 without gold)."""
    dcg = sum(1.0 / math.log2(i + 1) for i, doc in enumerate(ranked[:k], start=1) if doc in gold)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal > 0 else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def evaluate(
    ranked: Sequence[Sequence[str]],
    questions: Sequence[EvalQuestion],
    latencies_ms: Sequence[float],
    *,
    label: str = "run",
    recall_cutoffs: Sequence[int] = RECALL_CUTOFFS,
    meta: Mapping[str, Any] | None = None,
) -> EvalReport:
    """Aggregate the metrics of ranked document lists (one per question, best first)."""
    if len(ranked) != len(questions):
        msg = f"{len(ranked)} rankings for {len(questions)} questions"
        raise ValueError(msg)
    docs = [dedupe(r) for r in ranked]
    n = max(1, len(questions))
    metrics = {
        f"R@{k}": sum(recall_at(d, q.gold, k) for d, q in zip(docs, questions, strict=True)) / n
        for k in sorted(set(recall_cutoffs))
    }
    metrics[f"MRR@{RANK_CUTOFF}"] = (
        sum(mrr_at(d, q.gold, RANK_CUTOFF) for d, q in zip(docs, questions, strict=True)) / n
    )
    metrics[f"nDCG@{RANK_CUTOFF}"] = (
        sum(ndcg_at(d, q.gold, RANK_CUTOFF) for d, q in zip(docs, questions, strict=True)) / n
    )
    results = [
        QuestionResult(q.id, first_rank(d, q.gold, len(d)), tuple(d[:TOP_KEPT]))
        for d, q in zip(docs, questions, strict=True)
    ]
    by_type = _by_type(docs, questions)
    return EvalReport(
        label=label,
        n_questions=len(questions),
        metrics=metrics,
        latency_p50_ms=percentile(latencies_ms, 50),
        latency_p95_ms=percentile(latencies_ms, 95),
        results=results,
        meta=dict(meta or {}),
        by_type=by_type,
    )


def _by_type(docs: Sequence[Sequence[str]], questions: Sequence[EvalQuestion]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[tuple[Sequence[str], EvalQuestion]]] = {}
    for ranked, question in zip(docs, questions, strict=True):
        groups.setdefault(question_type(question.question), []).append((ranked, question))
    table: dict[str, dict[str, float]] = {}
    for name in QUESTION_TYPES:
        members = groups.get(name, [])
        if members:
            n = len(members)
            table[name] = {
                "n": float(n),
                "R@1": sum(recall_at(d, q.gold, 1) for d, q in members) / n,
                "R@5": sum(recall_at(d, q.gold, 5) for d, q in members) / n,
                f"MRR@{RANK_CUTOFF}": sum(mrr_at(d, q.gold, RANK_CUTOFF) for d, q in members) / n,
            }
    return table


# --- datasets -----------------------------------------------------------------------------


def normalize_key(key: str) -> str:
    """A document key as compared: NFC (macOS file names arrive decomposed), trimmed."""
    return unicodedata.normalize("NFC", key).strip()


def squad_doc_key(index: int) -> str:
    """The document key (and file name) of the ``index``-th distinct SQuAD context."""
    return f"ctx-{index:05d}.txt"


def is_squad(path: Path) -> bool:
    """True when ``path`` holds one JSON object with a ``data`` list (SQuAD v1 layout)."""
    if path.suffix.lower() == ".jsonl":
        return False
    try:
        parsed = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("data"), list)


def load_squad(path: Path) -> tuple[list[tuple[str, str]], list[EvalQuestion]]:
    """Contexts ``(doc_key, text)`` and questions of a SQuAD v1-format file.

    Each distinct context becomes one document (identical contexts share a key); a question's
    gold document is its context.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        msg = f"{path}: not a SQuAD v1 file ({exc})"
        raise DatasetError(msg) from exc
    keys: dict[str, str] = {}
    questions: list[EvalQuestion] = []
    for article in data:
        for paragraph in article.get("paragraphs", []):
            context = str(paragraph.get("context", ""))
            if not context.strip():
                continue
            key = keys.setdefault(context, squad_doc_key(len(keys)))
            questions += [
                _squad_question(qa, key, len(questions) + i) for i, qa in enumerate(paragraph.get("qas", []))
            ]
    contexts = [(key, text) for text, key in keys.items()]
    return contexts, [q for q in questions if q.question]


def _squad_question(qa: Mapping[str, Any], key: str, position: int) -> EvalQuestion:
    return EvalQuestion(
        str(qa.get("id") or f"q{position:06d}"), str(qa.get("question", "")).strip(), frozenset({key})
    )


def load_jsonl(path: Path, corpus_texts: Mapping[str, str] | None) -> list[EvalQuestion]:
    """Questions of a JSONL file, one object a line, gold given in one of three ways.

    ``gold_doc_ids`` (or the dev set's ``gold_files``): document keys (file names) directly;
    ``answers``: strings, and the gold documents are those in ``corpus_texts`` (key → text) that
    contain one of them (whitespace-insensitive). Questions whose gold ends up empty are kept with
    an empty gold set; :func:`restrict_to_corpus` drops them.
    """
    squashed = None if corpus_texts is None else {key: _squash(text) for key, text in corpus_texts.items()}
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if line.strip():
            questions.append(_jsonl_question(parse_jsonl_line(path, number, line), path, number, squashed))
    return questions


def parse_jsonl_line(path: Path, number: int, line: str) -> dict[str, Any]:
    """One line of a JSONL question set as an object with a non-empty ``question`` (DatasetError else)."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        msg = f"{path}:{number}: invalid JSON ({exc.msg})"
        raise DatasetError(msg) from exc
    if not isinstance(item, dict) or not str(item.get("question", "")).strip():
        msg = f'{path}:{number}: expected an object with a non-empty "question"'
        raise DatasetError(msg)
    return item


def _jsonl_question(
    item: Mapping[str, Any], path: Path, number: int, squashed_texts: Mapping[str, str] | None
) -> EvalQuestion:
    question_id = str(item.get("id") or f"q{number:06d}")
    question = str(item["question"]).strip()
    ids = item.get("gold_doc_ids", item.get("gold_files"))
    if ids is not None:
        return EvalQuestion(question_id, question, frozenset(normalize_key(str(i)) for i in _as_list(ids)))
    answers = [_answer_text(a) for a in _as_list(item.get("answers"))]
    answers = [a for a in answers if a]
    if not answers:
        msg = f'{path}:{number}: needs "gold_doc_ids", "gold_files" or "answers"'
        raise DatasetError(msg)
    if squashed_texts is None:
        msg = f'{path}:{number}: "answers" need a corpus (--corpus) to find the gold documents'
        raise DatasetError(msg)
    return EvalQuestion(question_id, question, _containing(answers, squashed_texts))


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _answer_text(answer: object) -> str:
    text = answer.get("text", "") if isinstance(answer, dict) else answer
    return _squash(str(text))


def _squash(text: str) -> str:
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _containing(answers: Iterable[str], squashed_texts: Mapping[str, str]) -> frozenset[str]:
    needles = [needle for needle in (_squash(a) for a in answers) if needle]
    return frozenset(key for key, text in squashed_texts.items() if any(n in text for n in needles))


@dataclass(frozen=True, slots=True)
class Restricted:
    """Questions kept for evaluation, those dropped, and gold keys that are not in the corpus."""

    kept: list[EvalQuestion]
    dropped: list[EvalQuestion]
    unknown_keys: frozenset[str]


def restrict_to_corpus(questions: Iterable[EvalQuestion], corpus_keys: Iterable[str]) -> Restricted:
    """Drop gold keys the corpus lacks, then the questions left without any gold document."""
    known = frozenset(corpus_keys)
    kept: list[EvalQuestion] = []
    dropped: list[EvalQuestion] = []
    unknown: set[str] = set()
    for question in questions:
        unknown |= question.gold - known
        gold = question.gold & known
        (kept if gold else dropped).append(EvalQuestion(question.id, question.question, gold))
    return Restricted(kept, dropped, frozenset(unknown))
