"""Korean-aware lexical tokens for BM25: Kiwi content morphemes, English and numbers kept."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

CONTENT_TAGS = frozenset(
    {"NNG", "NNP", "NR", "SL", "SN", "SH", "XR", "VV", "VA", "W_URL", "W_EMAIL", "W_HASHTAG", "W_SERIAL"}
)
NOUN_TAGS = frozenset({"NNG", "NNP"})
PLAIN_TAGS = frozenset({"NNG", "NNP", "NNB", "VV", "VA", "XR", "SL", "SN", "SH", "MM", "MAG"})
"""Morphemes a plain Kiwi-BM25 keeps (the reference baseline: no bigrams, no stop stems)."""
BIGRAM_MIN_LENGTH = 3
CONTENT_WORD_TAGS = frozenset({"NNG", "NNP", "NNB", "NR", "XR", "SL", "SN", "SH"})
"""Morphemes that make a question word carry content (nouns, numbers, roots, foreign words), unlike a
predicate or a question's frame ("가진", "나와", "있어요")."""
NOUN_CACHE_SIZE = 20_000
"""Texts whose nouns :meth:`KiwiTokenizer.noun_ids` remembers (evidence sentences recur across answers)."""
STOP_STEMS = frozenset({"하", "되", "있", "없", "않", "이", "같", "받", "주", "보", "수"})


class LexicalTokenizer(Protocol):
    """Turns text into the terms BM25 indexes and queries with."""

    def tokenize(self, text: str) -> list[str]:
        """Terms of one text."""
        ...

    def tokenize_many(self, texts: Iterable[str]) -> Iterator[list[str]]:
        """Terms of many texts (batched where the implementation can)."""
        ...


@dataclass(frozen=True, slots=True)
class UserTerm:
    """A company dictionary entry: a word Kiwi keeps whole, its POS tag and Kiwi's score for it."""

    term: str
    tag: str = "NNP"
    score: float = 0.0


@runtime_checkable
class TermAwareTokenizer(Protocol):
    """A tokenizer that takes the company dictionary (Kiwi does; the whitespace baseline does not)."""

    def set_terms(self, terms: Collection[UserTerm]) -> bool:
        """Make the dictionary exactly ``terms``; True when anything changed."""
        ...


class KiwiTokenizer:
    """Kiwi morphological analysis → content morphemes (particles and endings dropped).

    Compound nouns come out split (Kiwi analyses 연차휴가 as 연차 + 휴가); company terms added with
    :meth:`add_terms` are kept whole as proper nouns. Nouns of three or more syllables also emit
    their syllable bigrams, because Kiwi does not always cut a compound the same way in a short
    question and in a long passage (출장비 / 출장 + 비): on the dev set this lifted R@1 from 0.836
    to 0.864 and R@5 from 0.986 to 0.995 (see bench/README.md).
    """

    def __init__(self, terms: Iterable[str] = (), num_workers: int = 2) -> None:
        self._num_workers = num_workers
        self._fixed: list[UserTerm] = []
        self._dictionary: frozenset[UserTerm] = frozenset()
        self._kiwi = self._new_kiwi()
        self._nouns: dict[str, tuple[int, ...]] = {}
        self._content: dict[str, bool] = {}
        self.add_terms(terms)

    def _new_kiwi(self) -> Any:
        from kiwipiepy import Kiwi  # heavy: imported when the index is built

        return Kiwi(num_workers=self._num_workers)

    def add_terms(self, terms: Iterable[str]) -> None:
        """Teach Kiwi company terms (product, team names, acronyms) so they stay one token."""
        for term in terms:
            cleaned = term.strip()
            if cleaned:
                entry = UserTerm(cleaned)
                self._fixed.append(entry)
                _teach(self._kiwi, entry)

    @property
    def terms(self) -> frozenset[UserTerm]:
        """The company dictionary currently applied (terms given to :meth:`set_terms`)."""
        return self._dictionary

    def set_terms(self, terms: Collection[UserTerm]) -> bool:
        """Make the company dictionary exactly ``terms``; True when anything changed.

        Additions are taught to the running analyser. Kiwi cannot forget a word, so a removal (or a
        changed tag or score) builds a fresh analyser with the remaining terms, which takes a few
        seconds, and swaps it in; searches meanwhile use the old one. Either way the analyser is
        warmed up here: Kiwi rebuilds its word structures on the first analysis after new words
        (about 1.1 s on 2 cores), which would otherwise fall on the next user's search.
        """
        wanted = frozenset(terms)
        if wanted == self._dictionary:
            return False
        if self._dictionary <= wanted:
            for entry in sorted(wanted - self._dictionary, key=lambda e: e.term):
                _teach(self._kiwi, entry)
            _warm_up(self._kiwi)
        else:
            kiwi = self._new_kiwi()
            for entry in [*self._fixed, *sorted(wanted, key=lambda e: e.term)]:
                _teach(kiwi, entry)
            _warm_up(kiwi)
            self._kiwi = kiwi
        self.clear_noun_cache()  # the dictionary changes how texts are analysed
        self._dictionary = wanted
        return True

    def tokenize(self, text: str) -> list[str]:
        """Content morphemes of ``text``, lower-cased."""
        return _terms(self._kiwi.tokenize(text))

    def morphemes_many(self, texts: Iterable[str]) -> Iterator[list[tuple[str, str]]]:
        """Every morpheme of each text as ``(form, tag)``, irregular-conjugation marks dropped."""
        for tokens in self._kiwi.tokenize(list(texts)):
            yield [(str(t.form), _plain_tag(str(t.tag))) for t in tokens]

    def tokenize_many(self, texts: Iterable[str]) -> Iterator[list[str]]:
        """Content morphemes of each text, analysed in one batch."""
        for tokens in self._kiwi.tokenize(list(texts)):
            yield _terms(tokens)

    def noun_ids(self, text: str) -> tuple[int, ...]:
        """The distinct nouns (NNG, NNP) of ``text`` Kiwi knows, as morpheme ids in order; words it
        does not know (``oov``) share placeholder ids and are left out (company terms have no
        embedding: :meth:`noun_similarity` gives them 0).

        Part of :class:`llm.paraphrase.NounSimilarity`: the extractive composer matches paraphrased
        question words with it, on the analyser already loaded for BM25 (a second Kiwi would cost
        about 400 MB)."""
        found = self._nouns.get(text)
        if found is None:
            found = tuple(
                dict.fromkeys(
                    int(t.id)
                    for t in self._kiwi.tokenize(text)
                    if _plain_tag(str(t.tag)) in NOUN_TAGS and not t.oov
                )
            )
            if len(self._nouns) >= NOUN_CACHE_SIZE:
                self._nouns = {}
            self._nouns[text] = found
        return found

    def is_content_word(self, word: str) -> bool:
        """Whether Kiwi finds a noun, a number, a root or a foreign word in ``word`` (unknown words
        count: they come out as proper nouns), not only a predicate and its endings.

        Part of :class:`llm.paraphrase.NounSimilarity`: the extractive composer's "not found" gate
        also weighs how much of a question's content words a sentence holds."""
        found = self._content.get(word)
        if found is None:
            found = any(_plain_tag(str(t.tag)) in CONTENT_WORD_TAGS for t in self._kiwi.tokenize(word))
            if len(self._content) >= NOUN_CACHE_SIZE:
                self._content = {}
            self._content[word] = found
        return found

    def clear_noun_cache(self) -> None:
        """Forget the analysed texts of :meth:`noun_ids` and :meth:`is_content_word` (a benchmark's
        cold start)."""
        self._nouns = {}
        self._content = {}

    def noun_similarity(self, first: int, second: int) -> float:
        """Cosine similarity of two morphemes' embeddings in Kiwi's CoNg model (1.0 for the same
        morpheme; 0.0 when either has none, or with a Kiwi model without embeddings)."""
        if first == second:
            return 1.0
        try:
            value = float(self._kiwi.morpheme_similarity(first, second))
        except (ValueError, RuntimeError):
            return 0.0
        return value if math.isfinite(value) else 0.0


def _warm_up(kiwi: Any) -> None:
    kiwi.tokenize("가")


def _teach(kiwi: Any, entry: UserTerm) -> None:
    word = entry.term.strip().replace(" ", "")
    if word:
        kiwi.add_user_word(word, entry.tag, entry.score)


def _plain_tag(tag: str) -> str:
    return tag[:-2] if tag.startswith("V") and tag.endswith("-I") else tag  # irregular conjugation


def _terms(tokens: Iterable[object]) -> list[str]:
    terms: list[str] = []
    for token in tokens:
        tag = _plain_tag(str(token.tag))  # type: ignore[attr-defined]
        if tag not in CONTENT_TAGS:
            continue
        form = str(token.form).lower()  # type: ignore[attr-defined]
        if tag in {"VV", "VA"} and form in STOP_STEMS:
            continue
        terms.append(form)
        if tag in NOUN_TAGS and len(form) >= BIGRAM_MIN_LENGTH:
            terms.extend(form[i : i + 2] for i in range(len(form) - 1))
    return terms


class PlainKiwiTokenizer:
    """The reference baseline's terms: forms of nouns, verbs, adjectives, roots, foreign words,
    numbers, determiners and adverbs, lower-cased, nothing added (no bigrams, no stop stems)."""

    def __init__(self, kiwi: KiwiTokenizer | None = None) -> None:
        self._kiwi = kiwi or KiwiTokenizer()

    def tokenize(self, text: str) -> list[str]:
        """Plain terms of one text."""
        return next(self.tokenize_many([text]))

    def tokenize_many(self, texts: Iterable[str]) -> Iterator[list[str]]:
        """Plain terms of each text, analysed in one batch."""
        for morphemes in self._kiwi.morphemes_many(texts):
            yield [form.lower() for form, tag in morphemes if tag in PLAIN_TAGS]


class WhitespaceTokenizer:
    """The baseline: lower-cased whitespace tokens (what naive BM25 over Korean does)."""

    def tokenize(self, text: str) -> list[str]:
        """Whitespace-separated, lower-cased words."""
        return text.lower().split()

    def tokenize_many(self, texts: Iterable[str]) -> Iterator[list[str]]:
        """Whitespace tokens of each text."""
        for text in texts:
            yield self.tokenize(text)
