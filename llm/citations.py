"""Citation markers: find ``[n]`` in an answer and keep only those that point at a real source."""

from __future__ import annotations

import re
from collections.abc import Collection

MARKER_RE = re.compile(r"\[(\d{1,2})\]")


def cited_numbers(answer: str, valid: Collection[int]) -> list[int]:
    """Source numbers cited in ``answer``, in first-mention order, restricted to ``valid``."""
    seen: list[int] = []
    for match in MARKER_RE.finditer(answer):
        number = int(match.group(1))
        if number in valid and number not in seen:
            seen.append(number)
    return seen


def _bigrams(text: str) -> set[str]:
    compact = "".join(text.split())
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def best_supporting_source(answer: str, sources: dict[int, str], threshold: float = 0.5) -> int | None:
    """The source whose text covers most of the answer's character bigrams, if it covers enough.

    Small models often answer from a source without writing ``[n]``; attributing the answer to the
    source it overlaps most (and labelling the citation as inferred) keeps the answer checkable.
    """
    answer_grams = _bigrams(MARKER_RE.sub("", answer))
    if len(answer_grams) < 4:
        return None
    coverage = {n: len(answer_grams & _bigrams(text)) / len(answer_grams) for n, text in sources.items()}
    best = max(coverage, key=lambda n: coverage[n], default=None)
    return best if best is not None and coverage[best] >= threshold else None


def drop_invalid_markers(answer: str, valid: Collection[int]) -> str:
    """``answer`` with markers that point at no source removed."""
    return MARKER_RE.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", answer)
