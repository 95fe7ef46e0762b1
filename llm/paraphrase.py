"""Paraphrase matching for evidence: a question word no offered sentence holds may match a noun of
similar meaning.

Employees ask in their own words ("회사 차" for 업무용 차량, "친척 집" for 친지의 집, "군 복무" for
병역의무); the bigram coverage of :mod:`llm.evidence` then finds nothing for that word in any sentence,
and the sentence that answers scores no better than its neighbours. Kiwi's contextual n-gram model
(CoNg, bundled with ``kiwipiepy_model`` and already loaded for BM25) gives every morpheme an embedding;
a question word that matches nothing lexically gets partial credit in a sentence holding a noun close
to it.

Only words absent from *all* offered sentences are matched this way: a word that is present somewhere
already tells the sentences apart, and soft matches of common words ("기준", "필요") would only add
noise (``python -m bench.evidence``, issue 15, fifth pass).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

PARAPHRASE_SHARE = 0.5
"""The most a paraphrased word counts for, against 1.0 for the word itself: its credit is this share of
its similarity to the closest noun of the sentence."""
PARAPHRASE_MIN_SIMILARITY = 0.5
"""The least cosine similarity (CoNg morpheme embeddings, -1 to 1) that counts as a paraphrase:
휴가 ~ 휴일 0.67, 임명 ~ 임용 0.72; 국교 ~ 종교 0.46 does not count."""


@runtime_checkable
class NounSimilarity(Protocol):
    """Nouns of a text as morpheme ids, the similarity of two of them (Kiwi's CoNg model), and which
    words carry content."""

    def noun_ids(self, text: str) -> tuple[int, ...]:
        """The distinct common and proper nouns of ``text`` as morpheme ids, in order."""
        ...

    def noun_similarity(self, first: int, second: int) -> float:
        """Cosine similarity of two morphemes (1.0 for the same one; 0.0 when either has no embedding)."""
        ...

    def is_content_word(self, word: str) -> bool:
        """Whether ``word`` holds a noun, a number, a root or a foreign word (not only a predicate)."""
        ...


@dataclass(frozen=True, slots=True)
class ParaphraseMatch:
    """Soft matching of one question's ``terms`` that no offered sentence holds."""

    similarity: NounSimilarity
    terms: frozenset[str]

    @classmethod
    def of(cls, similarity: NounSimilarity | None, unmatched: Collection[str]) -> ParaphraseMatch | None:
        """A matcher for the ``unmatched`` terms, or None when there is nothing to match with or for."""
        if similarity is None or not unmatched:
            return None
        return cls(similarity, frozenset(unmatched))

    def share(self, term: str, sentence: str) -> float:
        """The credit ``term`` gets in ``sentence`` (0 to ``PARAPHRASE_SHARE``): each noun of the term
        is paired with the closest noun of the sentence, and the mean similarity counts when it reaches
        ``PARAPHRASE_MIN_SIMILARITY``. Terms that are not unmatched, or that hold no noun, get 0."""
        if term not in self.terms:
            return 0.0
        wanted = self.similarity.noun_ids(term)
        held = self.similarity.noun_ids(sentence) if wanted else ()
        if not held:
            return 0.0
        best = sum(max(self.similarity.noun_similarity(w, h) for h in held) for w in wanted) / len(wanted)
        return PARAPHRASE_SHARE * best if best >= PARAPHRASE_MIN_SIMILARITY else 0.0
