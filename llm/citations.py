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


def drop_invalid_markers(answer: str, valid: Collection[int]) -> str:
    """``answer`` with markers that point at no source removed."""
    return MARKER_RE.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", answer)
