"""Extractive answers: the evidence sentences themselves, quoted with ``[n]``, after a short typed answer.

A small model (the embedded gemma-3-270m is a base model) rarely answers a Korean question
correctly, but the retriever usually finds the sentence that does. An extractive answer shows that
sentence verbatim, so it can hold no figure its source does not: "15일입니다. 취업규칙 제24조 ①에
따르면 “… 15일의 유급휴가를 준다.” [1]". When the question asks for a figure (며칠 → a day count,
얼마 → an amount, 몇 명 → a count, 언제 → a date or time), sentences holding a figure of that kind
rank higher and the first such figure leads the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.question_types import question_type
from llm.evidence import Evidence, select_evidence
from llm.faithfulness import Figure, FigureKind, extract_figures
from llm.prompts import NOT_FOUND_KO

TYPE_BOOST = 0.15
"""Added to the evidence score of a sentence holding a figure of the kind the question asks for."""
QUOTED_SENTENCES = 2
SECOND_SENTENCE_RELATIVE = 0.75  # a second quote only when it scores close to the first

_EXPECTED: dict[str, Callable[[Figure], bool]] = {
    "days": lambda f: f.kind is FigureKind.COUNT and f.unit in {"day", "night"},
    "amount": lambda f: f.kind in {FigureKind.AMOUNT, FigureKind.PERCENT},
    "count": lambda f: f.kind in {FigureKind.COUNT, FigureKind.PERCENT},
    "when": lambda f: f.kind in {FigureKind.DATE, FigureKind.TIME},
}


@dataclass(frozen=True, slots=True)
class SourceText:
    """A numbered source as the answer cites it: ``[number]``, ``label`` (취업규칙 제24조 ①), text."""

    number: int
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class ExtractiveAnswer:
    """The composed answer text, its typed short answer (if any) and the quoted evidence."""

    text: str
    short_answer: str | None = None
    quoted: list[Evidence] = field(default_factory=list)


def typed_figure(sentence: str, question: str) -> Figure | None:
    """The first figure in ``sentence`` of the kind ``question`` asks for (None for other questions)."""
    wanted = _EXPECTED.get(question_type(question))
    if wanted is None:
        return None
    return next((f for f in extract_figures(sentence, names=False) if wanted(f)), None)


def rank_evidence(question: str, sources: Sequence[SourceText], *, limit: int = 6) -> list[Evidence]:
    """Evidence sentences for ``question`` alone, those holding the asked-for kind of figure first."""
    found = select_evidence(
        question, "", [(s.number, s.text) for s in sources], limit=limit, per_source=3, relative=0.4
    )
    boosted = [
        (e.score + (TYPE_BOOST if typed_figure(e.sentence, question) else 0.0), -position, e)
        for position, e in enumerate(found)
    ]
    return [e for _, _, e in sorted(boosted, key=lambda item: item[:2], reverse=True)]


def compose_extractive(question: str, sources: Sequence[SourceText]) -> ExtractiveAnswer:
    """An answer made only of evidence: "<short answer>입니다. <label>에 따르면 “<sentence>” [n]".

    Without evidence the answer is the stock "not found" reply.
    """
    ranked = rank_evidence(question, sources)
    if not ranked:
        return ExtractiveAnswer(NOT_FOUND_KO)
    first = ranked[0]
    quoted = [first]
    quoted += [e for e in ranked[1:QUOTED_SENTENCES] if e.score >= first.score * SECOND_SENTENCE_RELATIVE]
    labels = {s.number: s.label for s in sources}
    figure = typed_figure(first.sentence, question)
    short = figure.text if figure else None
    lines = [f"{labels.get(first.source, '')}에 따르면 “{first.sentence}” [{first.source}]".strip()]
    lines += [f"또한 {labels.get(e.source, '')}: “{e.sentence}” [{e.source}]" for e in quoted[1:]]
    text = "\n\n".join(lines)
    if short:
        text = f"{short}입니다. {text}"
    return ExtractiveAnswer(text, short, quoted)
