"""Answer-level metrics in the KorQuAD manner: normalise both strings, then exact match and character F1.

Korean words carry their particles (연차휴가는, 연차휴가를), so KorQuAD 1.0 scores answers on
characters rather than on whitespace tokens: after normalisation (NFC, lower case, no punctuation,
no whitespace) the F1 of a prediction is computed over the multiset of its characters against each
acceptable answer, and the best score over the answers counts. Exact match compares the
normalised strings.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

from llm.citations import MARKER_RE


def normalize_answer(text: str) -> str:
    """``text`` as compared: NFC, lower case, without punctuation (quotes and brackets too) or whitespace.

    Punctuation is every Unicode ``P*`` character: 「」, 『』, 《》, “ ”, ‘ ’, ·, commas, full
    stops, ``%`` and the like. So ``“2만 원”`` and ``2만원`` compare equal, as do ``20,000원`` and
    ``20000원``.
    """
    normalised = unicodedata.normalize("NFC", text).lower()
    return "".join(
        ch for ch in normalised if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )


def strip_citations(text: str) -> str:
    """``text`` without ``[n]`` citation markers (what the answer says, not where it says it from)."""
    return MARKER_RE.sub("", text).strip()


def exact_match(prediction: str, truth: str) -> float:
    """1.0 when both strings are equal after :func:`normalize_answer`, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(truth))


def char_f1(prediction: str, truth: str) -> float:
    """F1 over the characters of the normalised strings (each character counted as often as it occurs).

    Two empty strings agree (1.0); an empty string against a non-empty one scores 0.0.
    """
    predicted, expected = normalize_answer(prediction), normalize_answer(truth)
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_exact_match(prediction: str, truths: Iterable[str]) -> float:
    """The best :func:`exact_match` over the acceptable answers (0.0 when there are none)."""
    return max((exact_match(prediction, truth) for truth in truths), default=0.0)


def best_char_f1(prediction: str, truths: Iterable[str]) -> float:
    """The best :func:`char_f1` over the acceptable answers (0.0 when there are none)."""
    return max((char_f1(prediction, truth) for truth in truths), default=0.0)


def contains_answer(text: str, truths: Iterable[str]) -> bool:
    """Whether the normalised ``text`` contains one of the (non-empty) normalised answers."""
    haystack = normalize_answer(text)
    return any(needle and needle in haystack for needle in (normalize_answer(truth) for truth in truths))
