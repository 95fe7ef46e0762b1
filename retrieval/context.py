"""Context assembly for chat: search hits → numbered sources under a token budget.

Three steps, all on the hits a permission-checked search returned (nothing else is read):

1. Near-duplicates collapse into the better-ranked hit: the same paragraph in two documents (a
   policy copied into a handbook) or two versions' worth of boilerplate would otherwise spend the
   budget twice. Similarity is shingle containment: the share of the shorter text's character
   4-grams found in the other (whitespace ignored).
2. Neighbours merge: hits of one document version with consecutive ordinals in the same section
   and article continue one passage, so they become one source in document order, with the
   chunker's overlap written once. The passage ranks where its best hit ranked.
3. The budget: sources are taken best first while they fit; a passage that does not fit is
   shrunk around its best hit, and a single hit that does not fit is cut, then assembly stops.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from retrieval.types import SearchHit

TokenCounter = Callable[[str], int]
SHINGLE = 4
DUPLICATE_THRESHOLD = 0.9
SOURCE_OVERHEAD_TOKENS = 16
MIN_CUT_TOKENS = 64
MIN_OVERLAP_CHARS = 8
_SPACE_RE = re.compile(r"\s+")


def approx_tokens(text: str) -> int:
    """A conservative token estimate (Korean ≈ 1 token per 1.5 characters)."""
    return max(1, int(len(text) / 1.5))


@dataclass(slots=True)
class ContextSource:
    """One numbered source for the prompt: a passage of one or more neighbouring chunks."""

    number: int
    hits: list[SearchHit]
    text: str
    best: SearchHit
    duplicates: list[SearchHit] = field(default_factory=list)
    truncated: bool = False

    @property
    def label(self) -> str:
        """How the passage is cited (its first chunk's label: the article or page it starts at)."""
        return self.hits[0].citation_label

    @property
    def chunk_ids(self) -> list[str]:
        """The chunks merged into this source, in document order."""
        return [hit.chunk_id for hit in self.hits]

    def source_fields(self) -> dict[str, object]:
        """The source as clients see it: the first chunk's fields plus every merged chunk id."""
        return {
            **self.hits[0].source_fields(),
            "chunk_ids": self.chunk_ids,
            "duplicate_chunk_ids": [hit.chunk_id for hit in self.duplicates],
            "score": self.best.score,
        }


@dataclass(slots=True)
class _Passage:
    hits: list[SearchHit]
    rank: int
    best: SearchHit
    duplicates: list[SearchHit] = field(default_factory=list)


def assemble_context(
    hits: Sequence[SearchHit],
    budget_tokens: int,
    count_tokens: TokenCounter = approx_tokens,
    *,
    duplicate_threshold: float = DUPLICATE_THRESHOLD,
    overhead_tokens: int = SOURCE_OVERHEAD_TOKENS,
) -> list[ContextSource]:
    """Collapse near-duplicates, merge neighbours, and keep the best sources within the budget."""
    kept, duplicates = collapse_duplicates(hits, duplicate_threshold)
    passages = merge_neighbours(kept)
    for passage in passages:
        for hit in passage.hits:
            passage.duplicates += duplicates.get(hit.chunk_id, [])
    return _fit(passages, budget_tokens, count_tokens, overhead_tokens)


def collapse_duplicates(
    hits: Sequence[SearchHit], threshold: float = DUPLICATE_THRESHOLD
) -> tuple[list[SearchHit], dict[str, list[SearchHit]]]:
    """Hits without near-duplicates (rank order kept), and kept chunk id → the hits it absorbed."""
    kept: list[tuple[SearchHit, frozenset[str]]] = []
    absorbed: dict[str, list[SearchHit]] = {}
    for hit in hits:
        shingles = _shingles(hit.text)
        original = next((k for k, s in kept if _containment(shingles, s) >= threshold), None)
        if original is None:
            kept.append((hit, shingles))
        else:
            absorbed.setdefault(original.chunk_id, []).append(hit)
    return [hit for hit, _ in kept], absorbed


def merge_neighbours(hits: Sequence[SearchHit]) -> list[_Passage]:
    """Runs of consecutive chunks of one version and section, each ranked by its best hit."""
    rank = {hit.chunk_id: i for i, hit in enumerate(hits)}
    by_version: dict[str, list[SearchHit]] = {}
    for hit in hits:
        by_version.setdefault(hit.version_id, []).append(hit)
    passages: list[_Passage] = []
    for group in by_version.values():
        run: list[SearchHit] = []
        for hit in sorted(group, key=lambda h: h.ordinal):
            if run and not continues(run[-1], hit):
                passages.append(_passage(run, rank))
                run = []
            run.append(hit)
        passages.append(_passage(run, rank))
    return sorted(passages, key=lambda p: p.rank)


def continues(previous: SearchHit, following: SearchHit) -> bool:
    """True when ``following`` is the next chunk of the same passage as ``previous``."""
    return (
        following.version_id == previous.version_id
        and following.ordinal == previous.ordinal + 1
        and following.section_path == previous.section_path
        and following.article == previous.article
    )


def join_overlapping(first: str, second: str) -> str:
    """``first`` then ``second``, with the chunker's overlap (a suffix of first = a prefix of second) once."""
    probe = second[:MIN_OVERLAP_CHARS]
    if len(probe) == MIN_OVERLAP_CHARS:
        start = first.find(probe)
        while start != -1:
            tail = first[start:]
            if second.startswith(tail):
                return first + second[len(tail) :]
            start = first.find(probe, start + 1)
    return f"{first.rstrip()}\n{second.lstrip()}"


def _passage(run: list[SearchHit], rank: dict[str, int]) -> _Passage:
    best = min(run, key=lambda h: rank[h.chunk_id])
    return _Passage(hits=run, rank=rank[best.chunk_id], best=best)


def _text(hits: Sequence[SearchHit]) -> str:
    text = hits[0].text
    for hit in hits[1:]:
        text = join_overlapping(text, hit.text)
    return text


def _fit(
    passages: list[_Passage], budget: int, count_tokens: TokenCounter, overhead: int
) -> list[ContextSource]:
    sources: list[ContextSource] = []
    room = budget
    for passage in passages:
        hits = _shrink(passage, room - overhead, count_tokens)
        if hits:
            text = _text(hits)
            room -= count_tokens(text) + overhead
            sources.append(_source(len(sources) + 1, passage, hits, text, truncated=False))
            if hits != passage.hits:
                break
            continue
        best_text = passage.best.text
        allowed = room - overhead
        if allowed >= MIN_CUT_TOKENS:
            ratio = allowed / max(1, count_tokens(best_text))
            cut = best_text[: int(len(best_text) * ratio)]
            sources.append(_source(len(sources) + 1, passage, [passage.best], cut, truncated=True))
        break
    return sources


def _shrink(passage: _Passage, room: int, count_tokens: TokenCounter) -> list[SearchHit]:
    """The longest run around the best hit whose merged text fits ``room`` tokens (empty if none)."""
    hits = passage.hits
    if count_tokens(_text(hits)) <= room:
        return hits
    centre = hits.index(passage.best)
    low = high = centre
    if count_tokens(passage.best.text) > room:
        return []
    while True:
        grown = False
        for low_try, high_try in ((low - 1, high), (low, high + 1)):
            inside = low_try >= 0 and high_try < len(hits)
            if inside and count_tokens(_text(hits[low_try : high_try + 1])) <= room:
                low, high, grown = low_try, high_try, True
                break
        if not grown:
            return hits[low : high + 1]


def _source(
    number: int, passage: _Passage, hits: list[SearchHit], text: str, *, truncated: bool
) -> ContextSource:
    best = passage.best if passage.best in hits else hits[0]
    return ContextSource(
        number=number,
        hits=list(hits),
        text=text,
        best=best,
        duplicates=list(passage.duplicates),
        truncated=truncated or hits != passage.hits,
    )


def _shingles(text: str) -> frozenset[str]:
    squashed = _SPACE_RE.sub("", text)
    if len(squashed) <= SHINGLE:
        return frozenset({squashed})
    return frozenset(squashed[i : i + SHINGLE] for i in range(len(squashed) - SHINGLE + 1))


def _containment(a: frozenset[str], b: frozenset[str]) -> float:
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else 0.0
