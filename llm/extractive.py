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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from core.question_types import question_type
from llm.evidence import Evidence, coverage, question_terms, split_units, term_weights, unmatched_terms
from llm.faithfulness import COUNT_UNITS, Figure, FigureKind, extract_figures
from llm.paraphrase import NounSimilarity, ParaphraseMatch
from llm.prompts import NOT_FOUND_KO

TYPE_BOOST = 0.3
"""Added to the evidence score of a sentence holding a figure of the kind the question asks for."""
BOUND_BOOST = 0.1
"""Added again when that figure qualifies the question's topic ("15일의 연차유급휴가"), not just
stands near it ("연차휴가는 1일, 반일 … 단위로")."""
BOUND_NOUN_RE = re.compile(r"\s*(?:의\s*|간(?:의)?\s*)?([가-힣A-Za-z]{2,})")
BOUND_MIN_COVERAGE = 0.5
QUOTED_SENTENCES = 2
SECOND_SENTENCE_RELATIVE = 0.75  # a second quote only when it scores close to the first
SENTENCE_BONUS = 0.05  # a whole sentence beats a heading or a title line of equal coverage
TABLE_QUESTIONS = frozenset({"amount", "count", "days"})
TABLE_MIN_NUMBERS = 3
TABLE_MAX_ROWS = 8
TABLE_MIN_ROWS = 2
NUMBER_RE = re.compile(r"\d[\d,.]*")
LABEL_NUMBER_RE = re.compile(r"^\s*\d{1,2}[.)]\s+")  # "1. 회의실 현황": a section's list number, not a figure
SENTENCE_END_AT_LINE_END = re.compile(r"다\.\s*$")
SENTENCE_LIKE_RE = re.compile(r"(?:다|요|음|함|임)\s*[.!?。]?\s*$")
MIN_COVERAGE = 0.22
"""The least share of the question's terms one sentence must hold for the sources to answer it
(or ``MIN_CONTENT_COVERAGE`` of its content words)."""
MIN_CONTENT_COVERAGE = 0.27
"""The least share of the question's content words (:meth:`NounSimilarity.is_content_word`: not its
predicates, "가진", "나와 있어요") that, held by one sentence, also lets the sources answer it."""
QUESTION_PENALTY = 0.3
ANSWER_AFTER_QUESTION = 0.9
ASKED_MIN_SCORE = 0.2  # an FAQ question lends its score only when it is about the question asked
INTRO_PENALTY = 0.1
QUESTION_SENTENCE_RE = re.compile(r"[?？]\s*$|^(?:Q|질문|문)\s*\d{0,3}\s*[.:)]\s*\S")
INTRO_RE = re.compile(
    r"(?:다음|아래)(?:의|과|와)?\s*(?:각\s*호|같|사항|기준|구분|기한|서류|표|요건|절차|순서|중\s)|[:：]\s*$"
)
LIST_CONTEXT_SHARE = 1.0
"""Share of what scoring a list item together with its intro adds to the item's own score (0: off)."""
LIST_ITEMS_MAX = 12
CLAUSE_START_RE = re.compile(r"^\s*(?:[①-⑳]|제\s*\d+\s*조)")  # a new clause or article ends a list

PERCENT_QUESTION_RE = re.compile(r"퍼센트|%|비율|몇\s*프로|\S율은")
_KOREAN_UNITS = sorted((u for u in COUNT_UNITS if re.match(r"[가-힣]", u)), key=len, reverse=True)
ASKED_UNIT_RE = re.compile(rf"몇\s*({'|'.join(map(re.escape, _KOREAN_UNITS))})(?!도)")  # not 몇 년도 (a date)
DEADLINE_RE = re.compile(r"언제\s*까지|기한|마감")
DEADLINE_UNITS = frozenset({"day", "business-day", "week", "month", "year"})
DURATION_QUESTION_RE = re.compile(r"임기|기간|동안|오래|걸리|걸려|걸립|유효|존속|보존")
"""An "얼마" question naming a term or period (임기는 얼마, 얼마 동안, 얼마나 걸려요) asks for a duration."""


def _is_percent(figure: Figure) -> bool:
    return figure.kind is FigureKind.PERCENT


_EXPECTED: dict[str, Callable[[Figure], bool]] = {
    "days": lambda f: f.kind is FigureKind.COUNT and f.unit in {"day", "night"},
    "amount": lambda f: f.kind is FigureKind.AMOUNT,
    "count": lambda f: f.kind is FigureKind.COUNT,
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
    """The first figure in ``sentence`` of the kind ``question`` asks for (None for other questions);
    one that qualifies the question's topic (:func:`bound_figure`) comes first."""
    wanted = _wanted(question)
    if wanted is None:
        return None
    typed = [f for f in extract_figures(sentence, names=False) if wanted(f)]
    return bound_figure(sentence, question, typed) or next(iter(typed), None)


def bound_figure(sentence: str, question: str, figures: Sequence[Figure]) -> Figure | None:
    """The first of ``figures`` (of ``sentence``) whose following noun is the question's topic: the
    figure states the asked quantity of that thing ("15일의 연차유급휴가", "20만 원 한도의 경조금")
    rather than standing in a sentence that only mentions it."""
    terms = question_terms(question)
    if not terms:
        return None
    for figure in figures:
        noun = BOUND_NOUN_RE.match(sentence, figure.end)
        if noun and coverage(terms, noun.group(1)) >= BOUND_MIN_COVERAGE:
            return figure
    return None


def _wanted(question: str) -> Callable[[Figure], bool] | None:
    """What a figure answering ``question`` looks like: a percentage, a count in the unit the question
    names ("몇 명" → 9인, "몇 살" → 40세, "몇 시간" → 4시간), a duration for "얼마" asked of a term or a
    period ("임기는 얼마" → 6년, "얼마 동안" → 3개월, not an amount of money), a deadline's date or
    span ("언제까지" → "90일전까지" as well as a date), else by the question's type (:data:`_EXPECTED`)."""
    if PERCENT_QUESTION_RE.search(question):
        return _is_percent
    kind = question_type(question)
    asked = ASKED_UNIT_RE.search(question)
    if kind in {"count", "when"} and asked and "번호" not in question:  # "몇 시간" is typed as "when"
        unit = COUNT_UNITS[asked.group(1)]
        return lambda f: f.kind is FigureKind.COUNT and f.unit == unit
    if kind == "amount" and DURATION_QUESTION_RE.search(question) and "금액" not in question:
        return lambda f: f.kind is FigureKind.COUNT and f.unit in DEADLINE_UNITS
    if kind == "when" and DEADLINE_RE.search(question):
        return lambda f: (
            f.kind in {FigureKind.DATE, FigureKind.TIME}
            or (f.kind is FigureKind.COUNT and f.unit in DEADLINE_UNITS)
        )
    return _EXPECTED.get(kind)


def rank_evidence(
    question: str,
    sources: Sequence[SourceText],
    *,
    limit: int = 6,
    similarity: NounSimilarity | None = None,
) -> list[Evidence]:
    """Evidence sentences for ``question`` alone, best first (see :func:`score_sentences`).

    None when the sources do not answer it (:func:`answers_question`). Otherwise every sentence that
    shares something with the question competes, with no per-source quota and no floor relative to
    the best (the answer is often a clause that repeats few of the question's words, next to one that
    repeats many), ordered by the ranking key.
    """
    scored = score_sentences(question, sources, similarity)
    if not answers_question(question, [evidence.sentence for _, evidence in scored], similarity):
        return []
    ranked = sorted(scored, key=lambda item: item[0], reverse=True)  # stable: earlier source, sentence
    return [evidence for _, evidence in ranked if evidence.score > 0][:limit]


def answers_question(
    question: str, sentences: Sequence[str], similarity: NounSimilarity | None = None
) -> bool:
    """The "not found" gate: whether one of ``sentences`` holds ``MIN_COVERAGE`` of the question's
    terms or ``MIN_CONTENT_COVERAGE`` of its content words (unweighted, as
    :func:`~llm.evidence.select_evidence` counts them, with no paraphrase credit). A paraphrased
    question's predicates are in no source ("군대는 정치에 대해 어떤 태도를 지켜야 한다고 되어 있나요?":
    지켜야, 한다고), but its content words are (정치 of 군대, 정치, 태도 in "…그 정치적 중립성은 준수된다");
    without ``similarity`` every term counts as content."""
    terms = question_terms(question)
    content = [term for term in terms if similarity.is_content_word(term)] if similarity else terms
    return any(
        coverage(terms, sentence) >= MIN_COVERAGE
        or (content and coverage(content, sentence) >= MIN_CONTENT_COVERAGE)
        for sentence in sentences
    )


def score_sentences(
    question: str, sources: Sequence[SourceText], similarity: NounSimilarity | None = None
) -> list[tuple[float, Evidence]]:
    """Each distinct sentence of ``sources`` (in order) with its ranking key, as ``(key, evidence)``.

    The evidence score is the question's idf-weighted bigram coverage (:func:`term_weights` over
    these sentences, so a term every source repeats counts little). With ``similarity``, a question
    term no sentence holds is credited where a noun of similar meaning stands (:mod:`llm.paraphrase`).
    A sentence that is itself a question (an FAQ's "노트북을 받기 전에 … 되나요?", "Q1. …") is never the
    answer: it drops by ``QUESTION_PENALTY``, and the sentence after it in the same source inherits
    ``ANSWER_AFTER_QUESTION`` of its score when that reaches ``ASKED_MIN_SCORE``. A sentence that only
    announces a list ("다음 각 호와 같다") drops by ``INTRO_PENALTY``; the items after it are also
    scored with it (:func:`_list_context`), except for a "누가/누구" question: the intro's subject
    ("시장ㆍ군수ㆍ구청장은 다음 각 호의 사항을 공시하여야 한다") is the agent asked for, so the intro
    competes as a plain sentence.
    """
    candidates = _distinct_sentences(sources)
    terms = question_terms(question)
    asks_agent = question_type(question) == "who"  # the intro names who acts; its items say on what
    texts = [_scored_text(unit) for unit in candidates]
    weights = term_weights(terms, texts)
    paraphrase = ParaphraseMatch.of(similarity, unmatched_terms(terms, texts) if similarity else ())
    scored: list[tuple[float, Evidence]] = []
    asked: tuple[int, float] | None = None  # (source, score) of the question sentence just before
    for (number, sentence, _), text in zip(candidates, texts, strict=True):
        score = coverage(terms, text, weights, paraphrase)
        if asked is not None and asked[0] == number and asked[1] >= ASKED_MIN_SCORE:
            score = max(score, asked[1] * ANSWER_AFTER_QUESTION)
        is_question = QUESTION_SENTENCE_RE.search(sentence) is not None
        asked = (number, score) if is_question else None
        key = score + _type_key(sentence, question)
        key += SENTENCE_BONUS if SENTENCE_LIKE_RE.search(sentence) else 0.0
        key -= (QUESTION_PENALTY if is_question else 0.0) + (
            INTRO_PENALTY if INTRO_RE.search(sentence) and not asks_agent else 0.0
        )
        scored.append((key, Evidence(number, sentence, round(score, 3))))
    return scored if asks_agent else _list_context(scored, terms, weights, paraphrase)


def _list_context(
    scored: list[tuple[float, Evidence]],
    terms: Sequence[str],
    weights: Mapping[str, float],
    paraphrase: ParaphraseMatch | None = None,
) -> list[tuple[float, Evidence]]:
    """A list item is scored together with its intro, as a table row is with its header row: "다음 각 호의
    사항을 포함해야 한다" names what the items are, "수혜대상자의 서비스 만족도" only which one. Each item
    after an intro (in the same source, up to the next clause or article, at most ``LIST_ITEMS_MAX``)
    adds ``LIST_CONTEXT_SHARE`` of what the intro's words add to its coverage to its ranking key, so
    the item holding the question's distinguishing words beats the intro and its sibling items. The
    evidence score (the item's own coverage) is unchanged."""
    if not LIST_CONTEXT_SHARE:
        return scored
    adjusted: list[tuple[float, Evidence]] = []
    intro: int | None = None
    for index, (own_key, evidence) in enumerate(scored):
        key = own_key
        if intro is not None and (
            scored[intro][1].source != evidence.source
            or index - intro > LIST_ITEMS_MAX
            or CLAUSE_START_RE.match(evidence.sentence)
        ):
            intro = None
        if intro is not None:
            joined = coverage(terms, f"{scored[intro][1].sentence} {evidence.sentence}", weights, paraphrase)
            key += LIST_CONTEXT_SHARE * max(0.0, joined - evidence.score)
        adjusted.append((key, evidence))
        if INTRO_RE.search(evidence.sentence):
            intro = index
    return adjusted


def _type_key(sentence: str, question: str) -> float:
    """``TYPE_BOOST`` for a figure of the asked kind, plus ``BOUND_BOOST`` when it qualifies the
    question's topic."""
    wanted = _wanted(question)
    if wanted is None:
        return 0.0
    typed = [f for f in extract_figures(sentence, names=False) if wanted(f)]
    if not typed:
        return 0.0
    return TYPE_BOOST + (BOUND_BOOST if bound_figure(sentence, question, typed) else 0.0)


def _scored_text(unit: tuple[int, str, str]) -> str:
    """What a sentence is scored on: a table row with its header's cells before it."""
    _, sentence, context = unit
    return f"{context} {sentence}" if context else sentence


def _distinct_sentences(sources: Sequence[SourceText]) -> list[tuple[int, str, str]]:
    """``(source number, sentence, context)`` in source and sentence order, a repeated sentence kept
    once (see :func:`~llm.evidence.split_units` for the context)."""
    seen: set[str] = set()
    found: list[tuple[int, str, str]] = []
    for source in sources:
        for sentence, context in split_units(source.text):
            key = "".join(sentence.split())
            if key not in seen:
                seen.add(key)
                found.append((source.number, sentence, context))
    return found


def compose_extractive(
    question: str, sources: Sequence[SourceText], similarity: NounSimilarity | None = None
) -> ExtractiveAnswer:
    """An answer made only of evidence: "<short answer>입니다. <label>에 따르면 “<sentence>” [n]".

    Without evidence the answer is the stock "not found" reply. ``similarity`` (Kiwi's morpheme
    embeddings, from the BM25 tokenizer) lets a paraphrased question find its sentence.
    """
    ranked = rank_evidence(question, sources, similarity=similarity)
    if not ranked:
        return ExtractiveAnswer(NOT_FOUND_KO)
    first = ranked[0]
    quoted = [first]
    quoted += [
        e
        for e in ranked[1:QUOTED_SENTENCES]
        if e.score >= first.score * SECOND_SENTENCE_RELATIVE and SENTENCE_LIKE_RE.search(e.sentence)
    ]
    labels = {s.number: LABEL_NUMBER_RE.sub("", s.label) for s in sources}
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
    terms = question_terms(question)
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
