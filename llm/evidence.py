"""Evidence first: the sentences of the cited sources that best support an answer.

A tiny or wrong model still leaves the reader with the passages that matter: every answer carries
extractive highlights, scored by how much of the question's and of the answer's content they cover.
Coverage is counted over character bigrams, which tolerates Korean particles and compounds
(연차휴가 ~ 연차 … 휴가를) without a morphological analyser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llm.citations import MARKER_RE
from llm.paraphrase import ParaphraseMatch
from llm.prompts import NOT_FOUND_KO
from llm.terms import content_terms

SENTENCE_END_RE = re.compile(r"(?<=[.!?。！？])(?<!\d\.)\s+")  # not after a digit: 2024. 9. 1.
CLAUSE_MARK_RE = re.compile(r"\s*(?=[①-⑳])")  # ① ② … open the paragraphs of a Korean article
LIST_MARK_RE = re.compile(r"^\s*[○□■◦❍]\s+")
LIST_SPLIT_RE = re.compile(r"\s+(?=[○□■◦❍]\s)")  # ○ opens an item, also within a line
FAQ_QUESTION_RE = re.compile(r"^(?:Q|질문|문)\s*\d{0,3}\s*[.:)]\s*\S")  # Q. … / Q1. … / 질문: …
WRAPPED_RE = re.compile(
    r"(?:,|[가-힣](?:으로|에서|에게|에는|하여|하고|이며|되어|또는|및|로|에|며|고|는|은|을|를|의|와|과"
    r"|까지|부터|[아어여해]야|[하되치려다라으이]면|지만|는데|거나|[아어해여]서))\s*$"
)
HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s")
BULLET_RE = re.compile(r"^\s*(?:[-*•·▪]|\d{1,2}[.)])\s+")
TABLE_EDGE_RE = re.compile(r"^\s*\||\|\s*$")
TABLE_RULE_RE = re.compile(r"^[\s|:-]+$")
FINAL_RE = re.compile(r"[.!?。！？]$|다$")
ARTICLE_RE = re.compile(r"^제\s*\d+\s*조")  # 제12조(연차휴가): joins the clause that follows
MIN_SENTENCE_CHARS = 8
MERGE_BELOW_CHARS = 24
MAX_SENTENCE_CHARS = 300
TERM_WEIGHT_CAP = 4
COMPOUND_MIN_CHARS = 4
"""A Hangul term this long also matches a word holding its two halves in order (연차휴가 ~ 연차유급휴가)."""
HANGUL_TERM_RE = re.compile(r"^[가-힣]+$")
TAG_RE = re.compile(r"</?\w+(?:\s[^<>]*)?>?")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One supporting sentence, from source ``source`` (its ``[n]`` number)."""

    source: int
    sentence: str
    score: float

    def as_dict(self) -> dict[str, object]:
        """JSON form for API responses and stored messages."""
        return {"source": self.source, "sentence": self.sentence, "score": self.score}


def split_sentences(text: str) -> list[str]:
    """Sentences of a Korean or English passage, in order (:func:`split_units` without the context)."""
    return [sentence for sentence, _ in split_units(text)]


def split_units(text: str) -> list[tuple[str, str]]:
    """Sentences of a Korean or English passage, in order, each with its context: the header row of
    the Markdown table it is a row of ("본부/실 | 팀 | … | 내선번호"), else "".

    Splits at sentence-final punctuation (not after a digit: 2024. 9. 1.), at line breaks, before
    ① ② clause marks and before ○ □ list marks. Headings are skipped (Markdown ones, a table's
    header row, and short lines without a number or a sentence ending, which is how chunks carry
    their section titles); an article heading such as "제12조(연차휴가)" is joined to the clause that
    follows, even across a line break. A list item ("4. 정부지원 규모 및 형태") is kept however short,
    an FAQ question line ("Q. 비밀번호를 잊어버렸어요. 어떻게 …?") stays one sentence, a line broken in
    the middle of a sentence ("… 같은 부서 기준으로" / "하루 4시간을 넘을 수 없습니다.") is joined to
    the next, and a sentence longer than ``MAX_SENTENCE_CHARS`` is cut at commas rather than clipped.
    """
    units: list[tuple[str, str]] = []
    pending = ""
    lines = _joined_lines(text)
    header = ""
    for index, raw in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not TABLE_EDGE_RE.search(raw):
            header = ""
        if HEADING_RE.match(raw) or TABLE_RULE_RE.match(raw):
            continue
        if TABLE_EDGE_RE.search(raw) and "-" in following and TABLE_RULE_RE.match(following):
            header = _cells(raw)
            continue
        item = BULLET_RE.match(raw) is not None
        line = BULLET_RE.sub("", TABLE_EDGE_RE.sub("", raw)).strip()
        parts = [line] if FAQ_QUESTION_RE.match(line) else SENTENCE_END_RE.split(line)
        for part in parts:
            for piece in (p for clause in CLAUSE_MARK_RE.split(part) for p in LIST_SPLIT_RE.split(clause)):
                marked = LIST_MARK_RE.match(piece) is not None
                joined = f"{pending} {LIST_MARK_RE.sub('', piece).strip()}".strip()
                pending = ""
                if len(joined) < MERGE_BELOW_CHARS and not FINAL_RE.search(joined) and not (item or marked):
                    pending = joined
                    continue
                units.append((joined, header))
        if pending and not ARTICLE_RE.match(pending):
            # A short line of its own: a title (dropped) or a short fact such as "결혼: 5일" (kept).
            if re.search(r"\d", pending):
                units.append((pending, header))
            pending = ""
    if pending:
        units.append((pending, header))
    return [
        (piece, context)
        for sentence, context in units
        if len(sentence) >= MIN_SENTENCE_CHARS and re.search(r"\w", sentence)
        for piece in _cut_long(sentence)
    ]


def _cells(row: str) -> str:
    return " ".join(cell.strip() for cell in row.strip().strip("|").split("|") if cell.strip())


def _joined_lines(text: str) -> list[str]:
    """The lines of ``text``, a line that breaks off mid-sentence (it ends with a particle, a
    connective ending or a comma) joined to a plain line that follows it."""
    lines: list[str] = []
    for raw in text.splitlines():
        previous = lines[-1] if lines else ""
        if (
            previous
            and WRAPPED_RE.search(previous)
            and _continues(raw)
            and (_continues(previous) or _wrapped_item(previous))
        ):
            lines[-1] = f"{previous.rstrip()} {raw.strip()}"
        else:
            lines.append(raw)
    return lines


def _wrapped_item(line: str) -> bool:
    """Whether ``line`` is a list item long enough to have been wrapped ("- 생중계가 필요하면 …에 5영업일
    전까지" / "요청합니다."), not a short numbered title ("11. 문의")."""
    return BULLET_RE.match(line) is not None and len(BULLET_RE.sub("", line).strip()) >= MERGE_BELOW_CHARS


def _continues(line: str) -> bool:
    """Whether ``line`` can be part of a wrapped sentence (not empty, a heading, a list item, a table
    row, a clause or an article)."""
    stripped = line.strip()
    return bool(stripped) and not (
        HEADING_RE.match(line)
        or BULLET_RE.match(line)
        or TABLE_EDGE_RE.search(line)
        or FAQ_QUESTION_RE.match(stripped)
        or ARTICLE_RE.match(stripped)
        or stripped[0] in "①②③④⑤⑥⑦⑧⑨⑩○□■◦❍※"
    )


def _cut_long(sentence: str) -> list[str]:
    """``sentence``, or its comma-separated parts regrouped into pieces of at most
    ``MAX_SENTENCE_CHARS`` (a part longer than that is clipped)."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    pieces: list[str] = []
    for part in re.split(r"(?<=,)\s+", sentence):
        if pieces and len(pieces[-1]) + 1 + len(part) <= MAX_SENTENCE_CHARS:
            pieces[-1] = f"{pieces[-1]} {part}"
        else:
            pieces.append(part)
    return [_clip(piece) for piece in pieces]


def _clip(sentence: str) -> str:
    return sentence if len(sentence) <= MAX_SENTENCE_CHARS else sentence[: MAX_SENTENCE_CHARS - 1] + "…"


def _bigrams(text: str) -> set[str]:
    compact = "".join(text.lower().split())
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


class _Held:
    """A sentence prepared for term matching: its compact text, character bigrams and words."""

    __slots__ = ("_words", "compact", "grams", "sentence")

    def __init__(self, sentence: str) -> None:
        self.sentence = sentence
        self.compact = "".join(sentence.lower().split())
        self.grams = {self.compact[i : i + 2] for i in range(len(self.compact) - 1)}
        self._words: list[str] | None = None

    def share(self, term: str) -> float:
        """The share of ``term``'s bigrams found here (1.0 for a compound whose halves a word holds; a
        period term, 1.0 where the sentence states a rate of that period)."""
        period = PERIOD_TERMS.get(term)
        if period is not None:
            return 1.0 if period.search(self.sentence) else 0.0
        term_grams = _bigrams(term)
        if not term_grams:
            return 1.0 if term in self.compact else 0.0
        share = len(term_grams & self.grams) / len(term_grams)
        if share < 1.0 and len(term) >= COMPOUND_MIN_CHARS and HANGUL_TERM_RE.match(term):
            if self._words is None:
                self._words = self.sentence.lower().split()
            share = 1.0 if any(split_compound(term, word) for word in self._words) else share
        return share


def coverage(
    terms: Sequence[str],
    sentence: str,
    weights: Mapping[str, float] | None = None,
    paraphrase: ParaphraseMatch | None = None,
) -> float:
    """Share of ``terms`` found in ``sentence`` (longer terms weigh more; partial bigram matches count).

    ``weights`` (e.g. :func:`term_weights`) multiply each term's weight; a term it lacks weighs 1.
    ``paraphrase`` credits a term found only as a noun of similar meaning (:mod:`llm.paraphrase`).
    """
    held = _Held(sentence)
    total = matched = 0.0
    for term in terms:
        weight = float(min(len(term), TERM_WEIGHT_CAP)) * (weights.get(term, 1.0) if weights else 1.0)
        total += weight
        share = held.share(term)
        if share < 1.0 and paraphrase is not None:
            share = max(share, paraphrase.share(term, sentence))
        matched += weight * share
    return matched / total if total else 0.0


def split_compound(term: str, word: str) -> bool:
    """Whether ``word`` holds both halves of the compound ``term`` in order, with something between
    them: 연차휴가 in 연차유급휴가를, 출장경비 in 출장여비경비. Each half has at least two syllables."""
    for cut in range(2, len(term) - 1):
        head = word.find(term[:cut])
        if head >= 0 and word.find(term[cut:], head + cut + 1) >= 0:
            return True
    return False


PERIOD_TERMS = {
    "연간": re.compile(
        r"(?<![가-힣0-9])연\s*\d|연간|매년|해마다|(?:1|한|일)\s*년에|per\s+year|a\s+year|annual", re.I
    ),
    "월간": re.compile(
        r"(?<![가-힣0-9])월\s*\d|월간|매월|매달|(?:한|1)\s*달에|1\s*개월에|per\s+month|a\s+month|monthly",
        re.I,
    ),
    "주간": re.compile(
        r"(?<![가-힣0-9])주\s*\d|주당|매주|(?:일|1|한)\s*주일?에|per\s+week|a\s+week|weekly", re.I
    ),
}
"""A rate the question asks per period ("1년에 얼마", "한 달에 몇 번") is written "연 120만원", "월 2회",
"주 2일" in the sources: such a term matches those forms (:func:`question_terms`) instead of its letters."""
PERIOD_QUESTION_RE = {
    "연간": re.compile(r"(?:1|한|일)\s*년에|한\s*해에|해마다|매년|연간"),
    "월간": re.compile(r"(?:1|한)\s*달에|1\s*개월에|달마다|매달|매월|월간"),
    "주간": re.compile(r"(?:1|한|일)\s*주일?에|주마다|매주|주간"),
}


def question_terms(question: str) -> list[str]:
    """The question's content terms (:func:`~llm.terms.content_terms`), a per-period phrase ("1년에",
    "한 달에", "일주일에", "매월") replaced by its period term (``PERIOD_TERMS``)."""
    terms = content_terms(question)
    for period, asked in PERIOD_QUESTION_RE.items():
        found = asked.search(question)
        if found is None:
            continue
        phrase = "".join(found.group(0).split())
        terms = [t for t in terms if t not in phrase and not phrase.startswith(t)]
        terms.append(period)
    return terms


UNMATCHED_BELOW = 0.5
"""A term holding less than this share of its bigrams in every sentence is unmatched (see
:func:`unmatched_terms`)."""


def unmatched_terms(terms: Sequence[str], sentences: Sequence[str]) -> set[str]:
    """The ``terms`` no sentence holds (under ``UNMATCHED_BELOW`` of their bigrams in each, compound
    matches counted): the question's own wording, which only a paraphrase can match."""
    held = [_Held(sentence) for sentence in sentences]
    return {term for term in terms if all(h.share(term) < UNMATCHED_BELOW for h in held)}


def term_weights(terms: Sequence[str], sentences: Sequence[str]) -> dict[str, float]:
    """An idf weight for each term over ``sentences``: ``log(1 + N / df)``, where a sentence holds a
    term when it has at least half of the term's character bigrams (the term itself when it has none).

    Terms every sentence shares (the topic of all the offered sources, e.g. 연구개발) weigh least; a
    term found nowhere gets the weight of a term found once.
    """
    grams = [_bigrams(sentence) for sentence in sentences]
    compact = ["".join(sentence.lower().split()) for sentence in sentences]
    weights: dict[str, float] = {}
    for term in terms:
        period = PERIOD_TERMS.get(term)
        if period is not None:
            found = sum(period.search(sentence) is not None for sentence in sentences)
        else:
            term_grams = _bigrams(term)
            needed = (len(term_grams) + 1) // 2
            found = sum(
                (len(term_grams & held) >= needed) if term_grams else (term in text)
                for held, text in zip(grams, compact, strict=True)
            )
        weights[term] = math.log(1 + len(sentences) / max(found, 1))
    return weights


SUPPORT_THRESHOLD = 0.6
"""The least share of a text's content terms a source must hold to be the one it was drawn from."""
MIN_SUPPORT_TERMS = 2


def supporting_source(text: str, sources: Mapping[int, str]) -> int | None:
    """The source ``text`` (an answer sentence, or a whole answer without markers) was drawn from: the
    one covering most of its content terms (:func:`coverage`), if it covers ``SUPPORT_THRESHOLD``.

    The one rule for attributing uncited text, both per sentence while streaming (the markers the
    grounding filter attaches) and for a whole answer (the API's ``citation_inferred``). Citation
    markers, prompt tags and the stock "not found" reply are not content; at least two content terms
    are needed, since stock phrases ("잘 모르겠습니다") match every source. Ties go to the first source.
    """
    terms = answer_terms(text)
    if len(terms) < MIN_SUPPORT_TERMS:
        return None
    scores = {number: coverage(terms, source) for number, source in sources.items()}
    best = max(scores, key=lambda number: scores[number], default=None)
    return best if best is not None and scores[best] >= SUPPORT_THRESHOLD else None


def answer_terms(answer: str) -> list[str]:
    """Content terms of an answer, without citation markers, the stock "not found" reply and the
    prompt tags (``<source id="1" …>``) small models echo."""
    text = TAG_RE.sub(" ", MARKER_RE.sub(" ", answer)).replace(NOT_FOUND_KO, " ")
    return content_terms(text)


def select_evidence(
    question: str,
    answer: str,
    sources: Sequence[tuple[int, str]],
    *,
    limit: int = 3,
    per_source: int = 2,
    min_score: float = 0.2,
    relative: float = 0.5,
) -> list[Evidence]:
    """The best supporting sentences of ``sources`` (``(number, text)``, most relevant first).

    A sentence scores the mean of its coverage of the question's terms and of the answer's terms
    (the question's alone when the answer has none); ties go to the earlier source and sentence.
    Sentences below ``min_score`` or below ``relative`` times the best score are left out, and
    repeated sentences (chunks overlap) are kept once.
    """
    asked_terms = question_terms(question)
    given_answer_terms = answer_terms(answer)
    candidates: list[tuple[float, int, int, Evidence]] = []
    seen: set[str] = set()
    for rank, (number, text) in enumerate(sources):
        for position, sentence in enumerate(split_sentences(text)):
            key = "".join(sentence.split())
            if key in seen:
                continue
            seen.add(key)
            score = coverage(asked_terms, sentence)
            if given_answer_terms:
                score = (score + coverage(given_answer_terms, sentence)) / 2
            if score >= min_score:
                candidates.append((-score, rank, position, Evidence(number, sentence, round(score, 3))))
    chosen: list[Evidence] = []
    taken: dict[int, int] = {}
    ranked = sorted(candidates, key=lambda c: c[:3])
    floor = -ranked[0][0] * relative if ranked else 0.0
    for _, _, _, evidence in ranked:
        if evidence.score < floor or taken.get(evidence.source, 0) >= per_source:
            continue
        taken[evidence.source] = taken.get(evidence.source, 0) + 1
        chosen.append(evidence)
        if len(chosen) == limit:
            break
    return chosen
