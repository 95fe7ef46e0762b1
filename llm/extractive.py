"""Extractive answers: the evidence sentences themselves, quoted with ``[n]``, after a short typed answer.

A small model (the embedded gemma-3-270m is a base model) rarely answers a Korean question
correctly, but the retriever usually finds the sentence that does. An extractive answer shows that
sentence verbatim, so it can hold no figure its source does not: "15일입니다. 취업규칙 제24조 ①에
따르면 “… 15일의 유급휴가를 준다.” [1]". When the question asks for a figure (며칠 → a day count,
얼마 → an amount, 몇 명 → a count, 언제 → a date or time), sentences holding a figure of that kind
rank higher and the first such figure leads the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.question_types import question_type
from llm.evidence import Evidence, coverage, select_evidence
from llm.faithfulness import Figure, FigureKind, extract_figures
from llm.prompts import NOT_FOUND_KO
from llm.terms import content_terms

TYPE_BOOST = 0.15
"""Added to the evidence score of a sentence holding a figure of the kind the question asks for."""
QUOTED_SENTENCES = 2
SECOND_SENTENCE_RELATIVE = 0.75  # a second quote only when it scores close to the first
SENTENCE_BONUS = 0.05  # a whole sentence beats a heading or a title line of equal coverage
TABLE_QUESTIONS = frozenset({"amount", "count", "days"})
TABLE_MIN_NUMBERS = 3
TABLE_MAX_ROWS = 8
TABLE_MIN_ROWS = 2
NUMBER_RE = re.compile(r"\d[\d,.]*")
SENTENCE_END_AT_LINE_END = re.compile(r"다\.\s*$")
SENTENCE_LIKE_RE = re.compile(r"(?:다|요|음|함|임)\s*[.!?。]?\s*$")

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
    boosted = [(_boosted(e, question), -position, e) for position, e in enumerate(found)]
    return [e for _, _, e in sorted(boosted, key=lambda item: item[:2], reverse=True)]


def _boosted(evidence: Evidence, question: str) -> float:
    score = evidence.score + (TYPE_BOOST if typed_figure(evidence.sentence, question) else 0.0)
    return score + (SENTENCE_BONUS if SENTENCE_LIKE_RE.search(evidence.sentence) else 0.0)


def compose_extractive(question: str, sources: Sequence[SourceText]) -> ExtractiveAnswer:
    """An answer made only of evidence: "<short answer>입니다. <label>에 따르면 “<sentence>” [n]".

    Without evidence the answer is the stock "not found" reply.
    """
    ranked = rank_evidence(question, sources)
    if not ranked:
        return ExtractiveAnswer(NOT_FOUND_KO)
    first = ranked[0]
    quoted = [first]
    quoted += [
        e
        for e in ranked[1:QUOTED_SENTENCES]
        if e.score >= first.score * SECOND_SENTENCE_RELATIVE and SENTENCE_LIKE_RE.search(e.sentence)
    ]
    labels = {s.number: s.label for s in sources}
    figure = typed_figure(first.sentence, question)
    short = figure.text if figure else None
    lines = [f"{labels.get(first.source, '')}에 따르면 “{first.sentence}” [{first.source}]".strip()]
    lines += [f"또한 {labels.get(e.source, '')}: “{e.sentence}” [{e.source}]" for e in quoted[1:]]
    if short is None and question_type(question) in TABLE_QUESTIONS:
        lines += _table_quote(question, [s for s in sources if s.number in {e.source for e in quoted}])
    text = "\n\n".join(lines)
    if short:
        text = f"{short}입니다. {text}"
    return ExtractiveAnswer(text, short, quoted)


def _table_quote(question: str, sources: Sequence[SourceText]) -> list[str]:
    """The table (a caption line, then rows of figures) of the quoted sources that best matches the
    question, quoted as it stands: the amounts of a [별표] live in such rows, not in sentences."""
    terms = content_terms(question)
    best: tuple[float, int, list[str]] | None = None
    for source in sources:
        for block in _table_blocks(source.text):
            score = coverage(terms, " ".join(block))
            if score > 0 and (best is None or score > best[0]):
                best = (score, source.number, block)
    if best is None:
        return []
    _, number, block = best
    return ["\n".join(f"> {line}" for line in block) + f" [{number}]"]


def _table_blocks(text: str) -> list[list[str]]:
    """Tables as extracted text: runs of lines holding several numbers (one header line may sit
    among them), with the line before the run as its caption unless that line is a sentence."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    numeric = [_is_row(line) for line in lines]
    blocks: list[list[str]] = []
    position = 0
    while position < len(lines):
        if not numeric[position]:
            position += 1
            continue
        start = end = position
        while end + 1 < len(lines) and (
            numeric[end + 1] or (end + 2 < len(lines) and numeric[end + 2] and _is_header(lines[end + 1]))
        ):
            end += 1
        if sum(numeric[start : end + 1]) >= TABLE_MIN_ROWS:
            caption = [lines[start - 1]] if start > 0 and _is_header(lines[start - 1]) else []
            blocks.append([*caption, *lines[start : end + 1]][: TABLE_MAX_ROWS + 1])
        position = end + 1
    return blocks


def _is_row(line: str) -> bool:
    return len(NUMBER_RE.findall(line)) >= TABLE_MIN_NUMBERS and not SENTENCE_END_AT_LINE_END.search(line)


def _is_header(line: str) -> bool:
    return not SENTENCE_END_AT_LINE_END.search(line)
