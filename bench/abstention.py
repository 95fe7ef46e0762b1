"""The extractive answer's "not found" gate against unanswerable questions (issue 15 item 3).

Usage: python -m bench.abstention [--sets answers,constitution,statutes] [--cache DIR]

The extractive composer answers "문서에서 답을 찾지 못했습니다" when no offered sentence holds
``MIN_COVERAGE`` of the question's content terms. This sweeps that threshold and reports, per set:

- answerable questions (the cases of :mod:`bench.evidence`, same cache): evidence hit@1 counting an
  abstention as a miss, and how many are wrongly abstained on;
- unanswerable questions: the answer set's own (``"unanswerable": true``, searched against the sample
  documents like any question) and, for every set, a "gold removed" proxy: each answerable question
  with every offered source that holds a gold answer taken away, so that the sources are the near
  misses retrieval found next (the SQuAD sets have no unanswerable questions of their own). The
  share the gate abstains on is the figure to raise.

The shipped gate (:func:`llm.extractive.answers_question`: the best sentence's unweighted coverage of
the question's terms ≥ ``MIN_COVERAGE`` or of its content words ≥ ``MIN_CONTENT_COVERAGE``, Kiwi
deciding which words carry content) is one row; then three single gates swept over thresholds:
``plain`` (the best sentence's unweighted coverage; at 0.2 the gate shipped before 2026-12-05),
``idf`` (the best sentence's idf-weighted coverage, the evidence score, in which a term every offered
sentence shares counts little) and ``typed`` (``plain``, but for a question asking for a figure,
며칠/얼마/몇 명/언제, only over sentences holding a figure of that kind).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.services.answer_eval import load_answer_set
from app.services.evaluation import ingest_corpus, temporary_index
from bench.evidence import SETS, Case, _patched, cached_set_arguments, load_cases, noun_similarity
from core.settings import load_settings
from llm import extractive
from llm.answer_metrics import contains_answer
from llm.evidence import coverage, question_terms
from llm.extractive import SourceText
from llm.prompts import approx_tokens
from retrieval.context import assemble_context
from retrieval.types import AccessScope

THRESHOLDS = (0.2, 0.22, 0.3, 0.4, 0.5, 0.6, 0.7)


def unanswerable_sources(cache: Path | None) -> list[tuple[str, list[tuple[int, str, str]]]]:
    """The answer set's unanswerable questions with the sources the chat service would offer."""
    path = cache / "answers-unanswerable.json" if cache else None
    if path and path.exists():
        return [
            (q, [tuple(s) for s in offered]) for q, offered in json.loads(path.read_text(encoding="utf-8"))
        ]  # type: ignore[misc]
    dataset, corpus = SETS["answers"]
    _, questions = load_answer_set(dataset)
    settings = load_settings()
    found: list[tuple[str, list[tuple[int, str, str]]]] = []
    with temporary_index(settings) as container:
        assert corpus is not None
        ingest_corpus(container, corpus)
        for question in (q for q in questions if q.unanswerable):
            hits = container.searcher.search(
                question.question, AccessScope.admin(), k=settings.llm.chat_sources
            )
            assembled = assemble_context(hits, settings.llm.context_tokens, approx_tokens)
            found.append((question.question, [(c.number, c.label, c.text) for c in assembled]))
    if path:
        path.write_text(json.dumps(found, ensure_ascii=False), encoding="utf-8")
    return found


@dataclass(frozen=True)
class Gate:
    """A question's best plain and idf-weighted sentence coverage, and its ungated ranking."""

    plain: float
    idf: float
    typed: float
    shipped: bool
    ranked: list[str]

    def passes(self, gate: str, threshold: float) -> bool:
        """Whether the composer answers under ``gate`` at ``threshold`` (the shipped gate has its own)."""
        return self.shipped if gate == "shipped" else float(getattr(self, gate)) >= threshold


def gate_scores(question: str, raw: Sequence[tuple[int, str, str]]) -> Gate:
    """The best plain and idf-weighted coverage of the question by one offered sentence, and the
    ranking the composer would give without a gate."""
    sources = [SourceText(n, label, text) for n, label, text in raw]
    if not sources:
        return Gate(0.0, 0.0, 0.0, False, [])
    terms = question_terms(question)
    similarity = noun_similarity()
    scored = extractive.score_sentences(question, sources, similarity)
    plain = max((coverage(terms, e.sentence) for _, e in scored), default=0.0)
    weighted = max((e.score for _, e in scored), default=0.0)
    wants_figure = extractive._wanted(question) is not None
    typed = max(
        (
            coverage(terms, e.sentence)
            for _, e in scored
            if not wants_figure or extractive.typed_figure(e.sentence, question)
        ),
        default=0.0,
    )
    shipped = extractive.answers_question(question, [e.sentence for _, e in scored], similarity)
    with _patched(extractive, MIN_COVERAGE=0.0):
        ranked = [e.sentence for e in extractive.rank_evidence(question, sources, similarity=similarity)]
    return Gate(plain, weighted, typed, shipped, ranked)


def table(
    name: str, cases: Sequence[Case], unanswerable: Sequence[tuple[str, list[tuple[int, str, str]]]]
) -> list[str]:
    """One set's rows: each gate and threshold against answerable and unanswerable questions."""
    answerable = [(gate_scores(c.question, c.offered), c.answers) for c in cases]
    proxy = [
        gate_scores(c.question, [s for s in c.offered if not contains_answer(s[2], c.answers)]) for c in cases
    ]
    real = [gate_scores(q, offered) for q, offered in unanswerable]
    n = max(1, len(answerable))
    lines = [
        f"**{name}**: {len(answerable)} answerable, {len(proxy)} gold-removed"
        + (f", {len(real)} unanswerable" if real else ""),
        "",
        "| gate | threshold | hit@1 (abstaining = miss) | answerable abstained | gold-removed abstained |"
        + (" unanswerable abstained |" if real else ""),
        "| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if real else ""),
    ]
    rules = [("shipped", extractive.MIN_COVERAGE)] + [
        (gate, threshold) for gate in ("plain", "idf", "typed") for threshold in THRESHOLDS
    ]
    for gate, threshold in rules:
        label = (
            f"{extractive.MIN_COVERAGE:.2f} / content {extractive.MIN_CONTENT_COVERAGE:.2f}"
            if gate == "shipped"
            else f"{threshold:.2f}"
        )
        hits = sum(
            g.passes(gate, threshold) and contains_answer(" ".join(g.ranked[:1]), answers)
            for g, answers in answerable
        )
        wrong = sum(not g.passes(gate, threshold) for g, _ in answerable)
        kept = sum(not g.passes(gate, threshold) for g in proxy)
        row = f"| {gate} | {label} | {hits / n:.3f} | {wrong / n:.3f} | {kept / max(1, len(proxy)):.3f} |"
        if real:
            row += f" {sum(not g.passes(gate, threshold) for g in real)}/{len(real)} |"
        lines.append(row)
    return lines


def main() -> None:
    sets, cache = cached_set_arguments(__doc__.split("\n", 1)[0])
    for name in sets:
        cases = load_cases(name, cache, None)
        real = unanswerable_sources(cache) if name == "answers" else []
        print("\n".join(table(name, cases, real)) + "\n", flush=True)


if __name__ == "__main__":
    main()
