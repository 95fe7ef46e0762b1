"""Grounding a streamed answer: citation markers for every sentence, and the faithfulness policy.

A model's text passes through :class:`GroundingFilter` before anyone sees it:
- a sentence that ends without a ``[n]`` marker gets the marker of the source that supports it
  (:func:`llm.evidence.supporting_source`, the rule the API's ``citation_inferred`` uses too), or is
  noted as unsupported;
- under the ``flag`` policy text streams through as it comes (markers go in at sentence
  boundaries) and the answer is checked when it ends; under ``drop_sentence`` and
  ``fallback_extractive`` each sentence is held back until it is complete and checked first
  (:class:`llm.faithfulness.FaithfulnessStream`): a sentence with a figure no cited source holds is
  left out, or ends the model's answer so the evidence can answer instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from llm.citations import MARKER_RE
from llm.evidence import supporting_source
from llm.faithfulness import (
    FaithfulnessPolicy,
    FaithfulnessStream,
    SourceIndex,
    StreamRelease,
    sentence_ends,
)
from llm.prompts import NOT_FOUND_KO

MIN_CITABLE_CHARS = 8


class GroundingFilter:
    """Turns the model's stream into what is shown: markers attached, the policy applied."""

    def __init__(self, sources: Mapping[int, str] | SourceIndex, policy: FaithfulnessPolicy) -> None:
        self.index = sources if isinstance(sources, SourceIndex) else SourceIndex(sources)
        self._sources = dict(self.index.texts)
        self._policy = policy
        self._held = (
            None if policy is FaithfulnessPolicy.FLAG else FaithfulnessStream(self.index, policy=policy)
        )
        self._current = ""  # flag policy: the sentence being streamed (already shown)
        self.unsupported_sentences: list[str] = []
        """Sentences no source supports (no marker could be attached)."""
        self.dropped: list[str] = []
        """Sentences left out under ``drop_sentence``."""
        self.fallback = False
        """True once a sentence failed under ``fallback_extractive``: stop the model."""

    def feed(self, text: str) -> str:
        """Text to show now."""
        if self._held is not None:
            return self._release(self._held.feed(text))
        return self._pass_through(text, final=False)

    def flush(self) -> str:
        """The rest, at the end of the model's answer."""
        if self._held is not None:
            return self._release(self._held.flush())
        return self._pass_through("", final=True)

    def _pass_through(self, text: str, *, final: bool) -> str:
        combined = self._current + text
        shown: list[str] = []
        start = 0
        for end in (e for e in sentence_ends(combined) if combined[e:].strip()):
            next_start = len(combined) - len(combined[end:].lstrip())
            shown.append(combined[max(start, len(self._current)) : next_start])
            shown.append(self._marker_for(combined[start:end], trailing=True))
            start = next_start
        shown.append(combined[max(start, len(self._current)) :])
        self._current = combined[start:]
        if final:
            shown.append(self._marker_for(self._current, trailing=False))
            self._current = ""
        return "".join(shown)

    def _release(self, release: StreamRelease) -> str:
        assert self._held is not None
        shown: list[str] = []
        for sentence in release.sentences:
            piece = self._held.text[sentence.start : sentence.end]
            if sentence.released:
                body, space = _split_trailing_space(piece)
                shown.append(f"{body}{self._marker_for(body, trailing=False)}{space}")
            elif self._policy is FaithfulnessPolicy.DROP_SENTENCE:
                self.dropped.append(sentence.text)
        self.fallback = self.fallback or release.fallback
        return "".join(shown)

    def _marker_for(self, sentence: str, *, trailing: bool) -> str:
        """`` [n]`` for a sentence without a marker that a source supports; "" otherwise."""
        text = sentence.strip()
        if len(text) < MIN_CITABLE_CHARS or MARKER_RE.search(text) or NOT_FOUND_KO in text:
            return ""
        number = supporting_source(text, self._sources)
        if number is None:
            self.unsupported_sentences.append(text)
            return ""
        return f"[{number}] " if trailing else f" [{number}]"


def _split_trailing_space(piece: str) -> tuple[str, str]:
    match = re.search(r"\s*$", piece)
    cut = match.start() if match else len(piece)
    return piece[:cut], piece[cut:]
