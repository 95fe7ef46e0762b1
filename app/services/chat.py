"""Grounded chat: retrieve → build the prompt → stream the model → map citations to sources."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.settings import LLMSettings, PiiMode
from ingest.pii import StreamMasker, mask_pii
from llm.citations import best_supporting_source, cited_numbers, drop_invalid_markers
from llm.client import ChatModel, Usage
from llm.prompts import PromptSource, approx_tokens, build_messages, fit_sources, stop_sequences
from retrieval.search import HybridSearcher
from retrieval.types import AccessScope, SearchHit

SNIPPET_CHARS = 240
HISTORY_TURNS = 4


@dataclass(slots=True)
class SourceRef:
    """A numbered source offered to the model, as returned to clients."""

    number: int
    hit: SearchHit

    def as_dict(self) -> dict[str, Any]:
        """JSON form used in API responses and stored with messages."""
        hit = self.hit
        return {
            "number": self.number,
            **hit.source_fields(),
            "snippet": hit.text[:SNIPPET_CHARS],
            "score": round(hit.score, 4),
        }


@dataclass(slots=True)
class Timings:
    """Where the time before and during an answer went (milliseconds)."""

    retrieval_ms: float = 0.0
    prompt_ms: float = 0.0
    first_token_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(slots=True)
class AnswerStream:
    """A streamed answer; iterate for text deltas, then read the answer, sources and usage."""

    question: str
    sources: list[SourceRef]
    messages: list[dict[str, str]]
    model: ChatModel
    llm: LLMSettings
    timings: Timings
    started: float
    mask_output: bool = False
    answer: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    _parts: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        stream = self.model.stream(
            self.messages,
            max_tokens=self.llm.max_tokens,
            temperature=self.llm.temperature,
            stop=stop_sequences(self.llm.prompt_family),
        )
        label = _LabelStripper()
        masker = StreamMasker() if self.mask_output else None
        try:
            for chunk in stream:
                if chunk.text:
                    if not self.timings.first_token_ms:
                        self.timings.first_token_ms = (time.perf_counter() - self.started) * 1000
                    text = label.feed(chunk.text)
                    yield from self._emit(masker.feed(text) if masker else text)
                if chunk.finish_reason:
                    self.finish_reason, self.usage = chunk.finish_reason, chunk.usage
            tail = label.flush()
            yield from self._emit(masker.feed(tail) + masker.flush() if masker else tail)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            self.answer = "".join(self._parts)
            self.timings.total_ms = (time.perf_counter() - self.started) * 1000

    def _emit(self, text: str) -> Iterator[str]:
        if text:
            self._parts.append(text)
            yield text

    @property
    def cited(self) -> list[SourceRef]:
        """Sources the answer cites, in the order it first cites them (or the inferred one)."""
        numbers = cited_numbers(self.answer, {s.number for s in self.sources})
        by_number = {s.number: s for s in self.sources}
        if not numbers and (inferred := self.inferred_citation) is not None:
            numbers = [inferred]
        return [by_number[n] for n in numbers]

    @property
    def inferred_citation(self) -> int | None:
        """When the answer has no ``[n]`` marker: the source it was evidently drawn from, if any."""
        if cited_numbers(self.answer, {s.number for s in self.sources}):
            return None
        return best_supporting_source(self.answer, {s.number: s.hit.text for s in self.sources})

    @property
    def clean_answer(self) -> str:
        """The answer with citation markers that point at nothing removed."""
        return drop_invalid_markers(self.answer, {s.number for s in self.sources})


ANSWER_LABEL_RE = re.compile(r"^\s*(?:답변|대답|Answer|A)\s*[:：]\s*", re.IGNORECASE)
LABEL_WINDOW = 12


class _LabelStripper:
    """Drops a leading "답변:" that small models echo from the prompt layout."""

    def __init__(self) -> None:
        self._head = ""
        self._done = False

    def feed(self, text: str) -> str:
        if self._done:
            return text
        self._head += text
        if len(self._head.strip()) < LABEL_WINDOW:
            return ""
        return self.flush()

    def flush(self) -> str:
        if self._done:
            return ""
        self._done = True
        return ANSWER_LABEL_RE.sub("", self._head).lstrip()


class ChatService:
    """Answers questions from the documents a caller may see."""

    def __init__(
        self, searcher: HybridSearcher, model: ChatModel, llm: LLMSettings, pii_mode: PiiMode = PiiMode.OFF
    ) -> None:
        self._searcher = searcher
        self._model = model
        self._llm = llm
        # Personal data is masked in what the model sees and in what it streams back (in `reject`
        # mode too: a question is masked, not refused).
        self._mask = pii_mode is not PiiMode.OFF

    @property
    def model_name(self) -> str:
        """The model answers come from."""
        return self._model.model

    def answer(self, messages: Sequence[dict[str, str]], scope: AccessScope) -> AnswerStream:
        """Retrieve evidence for the last user message and prepare the streamed answer."""
        started = time.perf_counter()
        question = _last_user_message(messages)
        hits = self._searcher.search(question, scope, k=self._llm.chat_sources)
        retrieved = time.perf_counter()
        sources = [
            PromptSource(i, hit.citation_label, self._safe(hit.text)) for i, hit in enumerate(hits, start=1)
        ]
        sources = fit_sources(sources, self._llm.context_tokens, approx_tokens)
        history = [{**m, "content": self._safe(m["content"])} for m in _history(messages)]
        prompt = build_messages(self._safe(question), sources, history, self._llm.prompt_family)
        refs = [SourceRef(s.number, hits[s.number - 1]) for s in sources]
        timings = Timings(
            retrieval_ms=(retrieved - started) * 1000, prompt_ms=(time.perf_counter() - retrieved) * 1000
        )
        return AnswerStream(question, refs, prompt, self._model, self._llm, timings, started, self._mask)

    def _safe(self, text: str) -> str:
        return mask_pii(text) if self._mask else text


def _last_user_message(messages: Sequence[dict[str, str]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and message.get("content", "").strip():
            return message["content"].strip()
    msg = "no user message"
    raise ValueError(msg)


def _history(messages: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Earlier turns as strictly alternating user/assistant pairs (chat templates demand it)."""
    turns = [m for m in messages[:-1] if m.get("role") in {"user", "assistant"} and m.get("content")]
    alternating: list[dict[str, str]] = []
    for message in turns:
        expected = "user" if not alternating or alternating[-1]["role"] == "assistant" else "assistant"
        if message["role"] == expected:
            alternating.append({"role": message["role"], "content": message["content"]})
    if alternating and alternating[-1]["role"] == "user":
        alternating.pop()
    return alternating[-HISTORY_TURNS:]
