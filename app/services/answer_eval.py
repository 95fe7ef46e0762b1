"""Answer evaluation (``jikji eval answers``, ``POST /api/v1/eval/answers``) through the real chat service.

Every question is answered by :meth:`app.services.chat.ChatService.answer` with an admin scope,
exactly as a user would be answered (retrieval, prompt, the configured model, citations, evidence),
and scored against its acceptable answers:

- ``evidence_hit@1`` / ``evidence_hit@3``: a gold answer (normalised) is in the first / one of the
  first three evidence sentences;
- ``exact_match`` and ``f1`` (KorQuAD-style, :mod:`llm.answer_metrics`) of the short answer when
  the answer has one (extractive mode), else of the whole answer without ``[n]`` markers;
  ``f1_full_answer`` always scores the whole answer;
- ``citation_precision``: the share of cited sources from a gold document (or, for a question
  without gold files, holding a gold answer);
- ``unsupported_figure_rate``: the share of answers with a figure their cited sources lack
  (:mod:`llm.faithfulness`);
- ``abstention_rate`` on answerable questions, ``correct_abstention_rate`` on unanswerable ones.

Answer sets are SQuAD v1 JSON (each context becomes a document) or JSONL, one object a line:
``question``, ``answers`` (strings), optional ``id``, ``gold_files`` (file names), ``unanswerable``.
:func:`run_answer_eval` ingests the documents into a throw-away index (the retrieval evaluation's
:func:`~app.services.evaluation.temporary_index`); :func:`evaluate_index_answers` asks the live one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.container import Container
from app.services.chat import AnswerStream
from app.services.evaluation import (
    document_keys,
    ingest_corpus,
    ingest_texts,
    say,
    temporary_index,
    write_report_files,
)
from core.question_types import QUESTION_TYPES, question_type
from core.settings import Settings
from llm.answer_metrics import (
    best_char_f1,
    best_exact_match,
    contains_answer,
    normalize_answer,
    strip_citations,
)
from llm.client import ChatModel
from llm.faithfulness import FaithfulnessReport, check_answer
from llm.prompts import NOT_FOUND_KO
from retrieval.evaluation import (
    DatasetError,
    is_squad,
    load_squad,
    normalize_key,
    parse_jsonl_line,
    percentile,
)
from retrieval.tokenizer import LexicalTokenizer
from retrieval.types import AccessScope

REPORT_JSON = "answer-eval.json"
REPORT_MD = "answer-eval.md"
PROGRESS_EVERY = 10
EVIDENCE_DEPTH = 3
SHOWN_CHARS = 120


@dataclass(frozen=True, slots=True)
class AnswerQuestion:
    """One question, its acceptable answers and the documents (keys) that answer it."""

    id: str
    question: str
    answers: tuple[str, ...]
    gold: frozenset[str] = frozenset()
    unanswerable: bool = False


@dataclass(slots=True)
class AnswerOutcome:
    """How one question was answered and scored."""

    id: str
    question: str
    type: str
    unanswerable: bool
    answers: list[str]
    answer: str
    prediction: str
    mode: str
    exact_match: float
    f1: float
    f1_full_answer: float
    evidence_hit_1: bool
    evidence_hit_3: bool
    abstained: bool
    cited: list[str]
    cited_correct: int
    unsupported: list[dict[str, Any]]
    evidence_added: bool
    total_ms: float
    first_token_ms: float

    def to_dict(self) -> dict[str, Any]:
        """JSON form (floats rounded)."""
        data = asdict(self)
        for key in ("exact_match", "f1", "f1_full_answer", "total_ms", "first_token_ms"):
            data[key] = round(data[key], 4 if key.startswith(("exact", "f1")) else 1)
        return data


@dataclass(slots=True)
class AnswerReport:
    """Aggregate answer metrics of one run, by question type, with each question's outcome."""

    label: str
    n_questions: int
    metrics: dict[str, float]
    latency_ms: dict[str, float]
    results: list[AnswerOutcome] = field(default_factory=list)
    by_type: dict[str, dict[str, float]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the whole report."""
        return {
            "label": self.label,
            "n_questions": self.n_questions,
            "metrics": _rounded(self.metrics),
            "latency_ms": {key: round(value, 1) for key, value in self.latency_ms.items()},
            "meta": self.meta,
            "by_type": {name: _rounded(row) for name, row in self.by_type.items()},
            "questions": [outcome.to_dict() for outcome in self.results],
        }

    def to_json(self) -> str:
        """The report as indented JSON (Korean kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_table(self) -> str:
        """Metrics, latency and the breakdown by question type as fixed-width text (the terminal)."""
        return "\n".join(self._tables(markdown=False))

    def to_markdown(self) -> str:
        """The report as a Markdown document: metrics, types, run details, then every question."""
        lines = [f"# Answer evaluation — {self.label}", "", f"{self.n_questions} questions.", ""]
        lines += self._tables(markdown=True)
        if self.meta:
            rows = [[key, _cell(value)] for key, value in self.meta.items()]
            lines += ["", *format_table(["setting", "value"], rows, markdown=True)]
        header = ["id", "type", "EM", "F1", "hit@1", "abstained", "expected", "answer"]
        lines += [
            "",
            "## Questions",
            "",
            *format_table(header, [_question_row(r) for r in self.results], True),
        ]
        return "\n".join(lines) + "\n"

    def _tables(self, *, markdown: bool) -> list[str]:
        header = ["run", *self.metrics, *(f"{key} ms" for key in self.latency_ms), "n"]
        row = [
            self.label,
            *(f"{value:.3f}" for value in self.metrics.values()),
            *(f"{value:.0f}" for value in self.latency_ms.values()),
            str(self.n_questions),
        ]
        lines = format_table(header, [row], markdown=markdown)
        if self.by_type:
            names = list(next(iter(self.by_type.values())))
            rows = [[name, *(_number(row[key]) for key in names)] for name, row in self.by_type.items()]
            lines += ["", *format_table(["type", *names], rows, markdown=markdown)]
        return lines


def _rounded(row: Mapping[str, float]) -> dict[str, float]:
    return {key: round(value, 4) for key, value in row.items()}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and value >= 1 else f"{value:.3f}"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _question_row(outcome: AnswerOutcome) -> list[str]:
    return [
        outcome.id,
        outcome.type,
        f"{outcome.exact_match:.0f}",
        f"{outcome.f1:.2f}",
        "✓" if outcome.evidence_hit_1 else "",
        "✓" if outcome.abstained else "",
        _cell(" / ".join(outcome.answers) or "(unanswerable)"),
        _cell(outcome.prediction[:SHOWN_CHARS]),
    ]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> list[str]:
    """A table as Markdown rows, or as fixed-width text with the first column left-aligned."""
    if markdown:
        lines = [list(header), ["---"] + ["---:"] * (len(header) - 1), *rows]
        return ["| " + " | ".join(line) + " |" for line in lines]
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return [
        "  ".join(
            [line[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True))]
        )
        for line in table
    ]


# --- answer sets --------------------------------------------------------------------------


def load_answer_set(path: Path) -> tuple[list[tuple[str, str]] | None, list[AnswerQuestion]]:
    """The contexts (SQuAD: ``(doc_key, text)``; JSONL: None) and the questions of an answer set.

    Raises :class:`~retrieval.evaluation.DatasetError` for an unreadable file, or an answerable
    question without answers.
    """
    if is_squad(path):
        return _load_squad_answers(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return None, [_jsonl_question(path, n, line) for n, line in enumerate(lines, start=1) if line.strip()]


def _load_squad_answers(path: Path) -> tuple[list[tuple[str, str]], list[AnswerQuestion]]:
    contexts, questions = load_squad(path)
    raw = [  # the same walk as load_squad: non-empty contexts, then questions that are not empty
        qa
        for article in json.loads(path.read_text(encoding="utf-8-sig"))["data"]
        for paragraph in article.get("paragraphs", [])
        if str(paragraph.get("context", "")).strip()
        for qa in paragraph.get("qas", [])
        if str(qa.get("question", "")).strip()
    ]
    return contexts, [
        AnswerQuestion(
            q.id,
            q.question,
            _answer_texts(qa.get("answers")),
            q.gold,
            bool(qa.get("is_impossible")),
        )
        for q, qa in zip(questions, raw, strict=True)
    ]


def _jsonl_question(path: Path, number: int, line: str) -> AnswerQuestion:
    item = parse_jsonl_line(path, number, line)
    answers = _answer_texts(item.get("answers"))
    unanswerable = bool(item.get("unanswerable"))
    if not answers and not unanswerable:
        msg = f'{path}:{number}: an answerable question needs "answers"'
        raise DatasetError(msg)
    gold = item.get("gold_files", item.get("gold_doc_ids")) or []
    return AnswerQuestion(
        str(item.get("id") or f"q{number:06d}"),
        str(item["question"]).strip(),
        answers,
        frozenset(normalize_key(str(key)) for key in (gold if isinstance(gold, list) else [gold])),
        unanswerable,
    )


def _answer_texts(answers: object) -> tuple[str, ...]:
    items = answers if isinstance(answers, list) else [] if answers is None else [answers]
    texts = (str(a.get("text", "")) if isinstance(a, dict) else str(a) for a in items)
    return tuple(dict.fromkeys(text.strip() for text in texts if text.strip()))


def restrict_answer_set(
    questions: Iterable[AnswerQuestion], corpus_keys: Iterable[str]
) -> tuple[list[AnswerQuestion], int]:
    """Questions whose gold documents are in the corpus (gold keys it lacks dropped), and how many were not.

    A question without gold files (answers only, or unanswerable) is always kept.
    """
    known = frozenset(corpus_keys)
    kept: list[AnswerQuestion] = []
    dropped = 0
    for question in questions:
        gold = question.gold & known
        if question.gold and not gold:
            dropped += 1
            continue
        kept.append(
            AnswerQuestion(question.id, question.question, question.answers, gold, question.unanswerable)
        )
    return kept, dropped


# --- scoring ------------------------------------------------------------------------------


def score_answer(question: AnswerQuestion, stream: AnswerStream, keys: Mapping[str, str]) -> AnswerOutcome:
    """Score one finished answer stream; ``keys`` maps document ids to the dataset's document keys."""
    full = strip_citations(stream.clean_answer)
    short = getattr(stream, "short_answer", None)
    prediction = short.strip() if isinstance(short, str) and short.strip() else full
    evidence = [str(item["sentence"]) for item in stream.evidence[:EVIDENCE_DEPTH]]
    cited = stream.cited
    correct = sum(_cited_correctly(question, keys, ref.hit.document_id, ref.hit.text) for ref in cited)
    return AnswerOutcome(
        id=question.id,
        question=question.question,
        type=question_type(question.question),
        unanswerable=question.unanswerable,
        answers=list(question.answers),
        answer=full,
        prediction=prediction,
        mode=str(getattr(stream, "mode", None) or "generative"),
        exact_match=best_exact_match(prediction, question.answers),
        f1=best_char_f1(prediction, question.answers),
        f1_full_answer=best_char_f1(full, question.answers),
        evidence_hit_1=contains_answer(" ".join(evidence[:1]), question.answers),
        evidence_hit_3=any(contains_answer(sentence, question.answers) for sentence in evidence),
        abstained=is_abstention(stream),
        cited=[keys.get(ref.hit.document_id, ref.hit.display_name) for ref in cited],
        cited_correct=correct,
        unsupported=unsupported_figures(stream),
        evidence_added=bool(getattr(stream, "fallback", False)),
        total_ms=stream.timings.total_ms,
        first_token_ms=stream.timings.first_token_ms,
    )


def _cited_correctly(question: AnswerQuestion, keys: Mapping[str, str], document_id: str, text: str) -> bool:
    if question.gold:
        return keys.get(document_id) in question.gold
    return contains_answer(text, question.answers)


def is_abstention(stream: AnswerStream) -> bool:
    """Whether the answer declines: it says the documents do not hold the answer, or nothing was found."""
    declined = normalize_answer(NOT_FOUND_KO) in normalize_answer(stream.answer)
    return declined or (not stream.cited and not stream.sources)


def unsupported_figures(stream: AnswerStream) -> list[dict[str, Any]]:
    """The figures of the answer its cited sources lack (JSON form).

    From the stream's own faithfulness check when it has one (a report, or the API's dict form);
    otherwise the check is run here against the sources the answer cites.
    """
    own = getattr(stream, "faithfulness", None)
    if isinstance(own, FaithfulnessReport):
        own = own.to_dict()
    if isinstance(own, Mapping) and isinstance(own.get("unsupported"), list):
        return list(own["unsupported"])
    sources = {ref.number: ref.hit.text for ref in stream.sources}
    cited = [ref.number for ref in stream.cited]
    return check_answer(stream.answer, sources, cited=cited or None).to_dict()["unsupported"]


def summarize(outcomes: Sequence[AnswerOutcome]) -> dict[str, float]:
    """The run's metrics (see the module docstring); rates over no questions are 0.0."""
    answerable = [o for o in outcomes if not o.unanswerable]
    cited = sum(len(o.cited) for o in answerable)
    metrics = {
        "evidence_hit@1": _mean(o.evidence_hit_1 for o in answerable),
        "evidence_hit@3": _mean(o.evidence_hit_3 for o in answerable),
        "exact_match": _mean(o.exact_match for o in answerable),
        "f1": _mean(o.f1 for o in answerable),
        "f1_full_answer": _mean(o.f1_full_answer for o in answerable),
        "citation_precision": sum(o.cited_correct for o in answerable) / cited if cited else 0.0,
        "unsupported_figure_rate": _mean(bool(o.unsupported) for o in outcomes),
        "abstention_rate": _mean(o.abstained for o in answerable),
    }
    unanswerable = [o for o in outcomes if o.unanswerable]
    if unanswerable:
        metrics["correct_abstention_rate"] = _mean(o.abstained for o in unanswerable)
    return metrics


def _mean(values: Iterable[float]) -> float:
    items = [float(v) for v in values]
    return sum(items) / len(items) if items else 0.0


def latency(outcomes: Sequence[AnswerOutcome]) -> dict[str, float]:
    """Total answer time p50/p95 and time to the first token p50 (ms)."""
    totals = [o.total_ms for o in outcomes]
    firsts = [o.first_token_ms for o in outcomes if o.first_token_ms]
    return {
        "p50": percentile(totals, 50) if totals else 0.0,
        "p95": percentile(totals, 95) if totals else 0.0,
        "first_token_p50": percentile(firsts, 50) if firsts else 0.0,
    }


def by_question_type(outcomes: Sequence[AnswerOutcome]) -> dict[str, dict[str, float]]:
    """Per question type (answerable questions): ``n``, evidence hits, EM, F1 and abstention."""
    table: dict[str, dict[str, float]] = {}
    for name in QUESTION_TYPES:
        members = [o for o in outcomes if o.type == name and not o.unanswerable]
        if members:
            table[name] = {
                "n": float(len(members)),
                "evidence_hit@1": _mean(o.evidence_hit_1 for o in members),
                "evidence_hit@3": _mean(o.evidence_hit_3 for o in members),
                "exact_match": _mean(o.exact_match for o in members),
                "f1": _mean(o.f1 for o in members),
                "abstention_rate": _mean(o.abstained for o in members),
            }
    return table


# --- running ------------------------------------------------------------------------------


def answer_questions(
    container: Container,
    questions: Sequence[AnswerQuestion],
    keys: Mapping[str, str],
    scope: AccessScope | None = None,
) -> AnswerReport:
    """Ask every question through the container's chat service (admin scope unless ``scope`` is given:
    the release gate of one group answers as that group) and score the answers."""
    scope = scope or AccessScope.admin()
    container.searcher.search(questions[0].question, scope, k=1)  # warm-up: loads BM25 and the models
    say(f"답변 시작 / answering {len(questions)} questions")
    outcomes: list[AnswerOutcome] = []
    started = time.perf_counter()
    for done, question in enumerate(questions, start=1):
        stream = container.chat_service.answer([{"role": "user", "content": question.question}], scope)
        for _text in stream:
            pass
        outcomes.append(score_answer(question, stream, keys))
        if done % PROGRESS_EVERY == 0 or done == len(questions):
            say(f"  답변 / answered {done}/{len(questions)} ({time.perf_counter() - started:.1f}s)")
    modes: dict[str, int] = {}
    for outcome in outcomes:
        modes[outcome.mode] = modes.get(outcome.mode, 0) + 1
    return AnswerReport(
        label=_label(container.settings),
        n_questions=len(outcomes),
        metrics=summarize(outcomes),
        latency_ms=latency(outcomes),
        results=outcomes,
        by_type=by_question_type(outcomes),
        meta={
            "answer_modes": modes,
            "evidence_added": sum(o.evidence_added for o in outcomes),
            "unanswerable": sum(o.unanswerable for o in outcomes),
        },
    )


def _label(settings: Settings) -> str:
    return str(getattr(settings.llm, "answer_mode", None) or "generative")


def _describe(container: Container, dataset: Path, corpus: Path | None) -> dict[str, Any]:
    settings = container.settings
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": str(dataset),
        "corpus": str(corpus) if corpus else None,
        "model": container.chat_service.model_name,
        "answer_mode": _label(settings),
        "embedder": settings.embedding.model,
        "chat_sources": settings.llm.chat_sources,
    }


def run_answer_eval(
    settings: Settings,
    dataset: Path,
    *,
    corpus: Path | None,
    out_dir: Path,
    limit: int | None,
    embedder: str | None,
    keep: bool,
    tokenizer: LexicalTokenizer | None = None,
    chat_model: ChatModel | None = None,
) -> AnswerReport:
    """Evaluate answers on ``dataset`` in a throw-away index; write the reports into ``out_dir``.

    SQuAD files bring their own documents; JSONL sets need ``corpus`` (a folder of documents).
    ``tokenizer`` and ``chat_model`` replace Kiwi and the configured model (tests pass fakes);
    otherwise the model server of ``settings.llm`` must be reachable.
    Raises :class:`retrieval.evaluation.DatasetError` for an unreadable answer set.
    """
    contexts, questions = load_answer_set(dataset)
    if contexts is None and corpus is None:
        msg = f"{dataset}: JSONL answer sets need --corpus DIR (the documents to answer from)"
        raise DatasetError(msg)
    with temporary_index(
        settings, embedder=embedder, keep=keep, tokenizer=tokenizer, chat_model=chat_model
    ) as container:
        if contexts is not None:
            ingested = ingest_texts(container, contexts)
        else:
            assert corpus is not None
            ingested = ingest_corpus(container, corpus)
        kept, dropped = restrict_answer_set(questions, ingested.keys.values())
        kept = kept[:limit] if limit else kept
        if not kept:
            msg = f"{dataset}: no question has its gold document in the corpus"
            raise DatasetError(msg)
        if dropped:
            say(f"경고 / warning: 정답 문서가 없는 질문 {dropped}개 제외 / {dropped} questions without gold")
        report = answer_questions(container, kept, ingested.keys)
        described = _describe(container, dataset, corpus)
    report.meta = {
        **described,
        **report.meta,
        "documents": len(ingested.keys),
        "chunks": ingested.chunks,
        "ingest_failed": len(ingested.failed),
        "ingest_seconds": round(ingested.seconds, 1),
        "questions_dropped": dropped,
    }
    write_answer_report(report, out_dir)
    return report


def evaluate_index_answers(
    container: Container, dataset: Path, limit: int | None, scope: AccessScope | None = None
) -> AnswerReport:
    """Evaluate answers from the live index (JSONL with ``gold_files`` matched to file names), searched
    with ``scope`` (default: every document)."""
    keys = document_keys(container)
    _contexts, questions = load_answer_set(dataset)
    kept, dropped = restrict_answer_set(questions, keys.values())
    kept = kept[:limit] if limit else kept
    if not kept:
        msg = "no question has its gold document in the current index (upload the sample documents first)"
        raise DatasetError(msg)
    report = answer_questions(container, kept, keys, scope)
    report.meta = {
        **_describe(container, dataset, None),
        **report.meta,
        "documents": len(keys),
        "questions_total": len(questions),
        "questions_without_gold_in_index": dropped,
    }
    return report


def write_answer_report(report: AnswerReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``answer-eval.json`` and ``answer-eval.md`` into ``out_dir``; returns both paths."""
    return write_report_files(report, out_dir / REPORT_JSON, out_dir / REPORT_MD)
