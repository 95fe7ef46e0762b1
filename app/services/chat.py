"""Grounded chat: rewrite a follow-up → retrieve → build the prompt → stream the model (or compose an
extractive answer) → attach citations, apply the faithfulness policy → pick the evidence sentences."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.services.adapters import Route, routed_model
from app.services.grounding import GroundingFilter
from core.settings import LLMSettings, PiiMode
from ingest.pii import StreamMasker, mask_pii
from llm.citations import cited_numbers, drop_invalid_markers
from llm.client import ChatModel, LLMUnavailableError, StreamChunk, Usage
from llm.evidence import Evidence, select_evidence, supporting_source
from llm.extractive import ExtractiveAnswer, SourceText, compose_extractive
from llm.faithfulness import FaithfulnessPolicy, FaithfulnessReport, SourceIndex
from llm.paraphrase import NounSimilarity
from llm.prompts import NOT_FOUND_KO, PromptSource, approx_tokens, build_messages, stop_sequences
from llm.rewrite import rewrite_with_model, standalone_query, user_turns
from retrieval.context import assemble_context
from retrieval.search import HybridSearcher
from retrieval.types import AccessScope, SearchHit

SNIPPET_CHARS = 240
EVIDENCE_LIMIT = 3
"""Evidence sentences an answer lists (its highlights)."""
HISTORY_TURNS = 4
REGENERATE_MIN_TEMPERATURE = 0.7
WORD_RE = re.compile(r"\S+\s*|\s+")
EVIDENCE_LEAD = "\n\n문서의 해당 내용은 다음과 같습니다. "


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

    retrieval_ms: float = 0.0  # includes rewrite_ms
    rewrite_ms: float = 0.0
    prompt_ms: float = 0.0
    first_token_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(slots=True)
class AnswerStream:
    """A streamed answer; iterate for text deltas, then read the answer, sources, evidence and usage.

    ``search_query`` is what retrieval searched for (the question, or a follow-up rewritten into a
    standalone query). ``finish_reason`` is the model's (``stop``, ``length``) or Jikji's:
    ``stopped`` (:meth:`stop` was called), ``cancelled`` (the consumer stopped iterating), ``error``
    (the model server failed; ``error`` holds why, and the exception is re-raised to the consumer).
    """

    question: str
    sources: list[SourceRef]
    messages: list[dict[str, str]]
    """``mode``: ``generative`` (the model writes) or ``extractive`` (the evidence is the answer);
    ``auto`` adds the evidence to a generated answer that cites nothing or fails the check."""
    model: ChatModel
    llm: LLMSettings
    timings: Timings
    started: float
    mask_output: bool = False
    search_query: str = ""
    temperature: float | None = None
    mode: str = "generative"
    auto: bool = False
    policy: FaithfulnessPolicy = FaithfulnessPolicy.FLAG
    similarity: NounSimilarity | None = None
    """Noun similarity for the extractive answer's paraphrase matching (:mod:`llm.paraphrase`)."""
    extractive: ExtractiveAnswer | None = None
    fallback: bool = False
    report: FaithfulnessReport | None = None
    grounding: GroundingFilter | None = None
    answer: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    error: str | None = None
    _parts: list[str] = field(default_factory=list)
    _index: SourceIndex | None = None
    _upstream: Iterator[StreamChunk] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.search_query = self.search_query or self.question

    def open(self) -> None:
        """Send the prompt to the model now (iterating does it otherwise).

        Raises :class:`LLMUnavailableError` when the model server cannot be reached, before any text
        is produced, so an HTTP layer can still answer with an error status instead of a stream.
        """
        if self._upstream is None and self.mode != "extractive":  # an extractive answer calls no model
            temperature = self.llm.temperature if self.temperature is None else self.temperature
            self._upstream = iter(
                self.model.stream(
                    self.messages,
                    max_tokens=self.llm.max_tokens,
                    temperature=temperature,
                    stop=stop_sequences(self.llm.prompt_family),
                )
            )

    def stop(self) -> None:
        """Ask the answer to stop after the current token (safe from any thread)."""
        self._stop.set()

    def close(self) -> None:
        """Close the upstream model stream, so the server stops generating (idempotent).

        Iteration does this when it ends for any reason; call it from the consuming thread only
        (:meth:`stop` is the cross-thread way).
        """
        upstream, self._upstream = self._upstream, None
        close = getattr(upstream, "close", None)
        if close is not None:
            close()

    def __iter__(self) -> Iterator[str]:
        try:
            if self.mode == "extractive":
                yield from self._extract()
            else:
                yield from self._generate()
        except LLMUnavailableError as exc:
            self.finish_reason, self.error = "error", str(exc)
            raise
        except GeneratorExit:
            self.finish_reason = self.finish_reason or "cancelled"
            raise
        finally:
            self.close()
            self.answer = "".join(self._parts)
            self.timings.total_ms = (time.perf_counter() - self.started) * 1000
            self.report = self.source_index.check(self.answer) if self.sources else None

    def _generate(self) -> Iterator[str]:
        label = _LabelStripper()
        masker = StreamMasker() if self.mask_output else None
        grounding = self.grounding = GroundingFilter(self.source_index, self.policy)
        self.open()
        assert self._upstream is not None
        for chunk in self._upstream:
            if self._stop.is_set():
                self.finish_reason = "stopped"
                break
            if chunk.text:
                self._first_token()
                text = label.feed(chunk.text)
                yield from self._emit(grounding.feed(masker.feed(text) if masker else text))
                if grounding.fallback:
                    break
            if chunk.finish_reason:
                self.finish_reason, self.usage = chunk.finish_reason, chunk.usage
        tail = label.flush()
        tail = masker.feed(tail) + masker.flush() if masker else tail
        yield from self._emit(grounding.feed(tail) + grounding.flush())
        if self.finish_reason == "stopped":
            return
        blank = not "".join(self._parts).strip()
        if grounding.fallback or blank or self._needs_evidence():
            yield from self._add_evidence()
        if not "".join(self._parts).strip():
            # A model that ends at once (a small base model often does) never leaves a blank answer.
            yield from self._emit(NOT_FOUND_KO)

    def _needs_evidence(self) -> bool:
        """Auto mode: a generated answer that cites nothing or holds an unsupported figure."""
        text = "".join(self._parts)
        if not self.auto or not self.sources or NOT_FOUND_KO in text:
            return False
        cites = cited_numbers(text, {s.number for s in self.sources})
        return not cites or not self.source_index.check(text).grounded

    def _add_evidence(self) -> Iterator[str]:
        composed = self.compose()
        if composed.quoted:
            self.fallback = True
            lead = EVIDENCE_LEAD if "".join(self._parts).strip() else ""
            yield from self._emit(lead + composed.text)

    def _extract(self) -> Iterator[str]:
        for piece in WORD_RE.findall(self.compose().text):
            if self._stop.is_set():
                self.finish_reason = "stopped"
                return
            self._first_token()
            yield from self._emit(piece)
        self.finish_reason = "stop"

    def compose(self) -> ExtractiveAnswer:
        """The extractive answer from the offered sources (composed once)."""
        if self.extractive is None:
            texts = self.source_texts
            self.extractive = compose_extractive(
                self.search_query,
                [SourceText(s.number, s.hit.citation_label, texts[s.number]) for s in self.sources],
                self.similarity,
            )
        return self.extractive

    def _first_token(self) -> None:
        if not self.timings.first_token_ms:
            self.timings.first_token_ms = (time.perf_counter() - self.started) * 1000

    def _emit(self, text: str) -> Iterator[str]:
        if text:
            self._parts.append(text)
            yield text

    @property
    def source_texts(self) -> dict[int, str]:
        """Each offered source's text by its ``[n]`` number, as the reader sees it (PII masked)."""
        return {s.number: mask_pii(s.hit.text) if self.mask_output else s.hit.text for s in self.sources}

    @property
    def source_index(self) -> SourceIndex:
        """The figures of the offered sources (labels and texts), indexed once per answer."""
        if self._index is None:
            self._index = SourceIndex(self.labelled_texts)
        return self._index

    @property
    def labelled_texts(self) -> dict[int, str]:
        """Each source's citation label and text: what a figure of the answer may come from (an answer
        naming "취업규칙 제24조" cites the label, not the text)."""
        texts = self.source_texts
        return {s.number: f"{s.hit.citation_label}\n{texts[s.number]}" for s in self.sources}

    @property
    def short_answer(self) -> str | None:
        """The typed short answer (15일, 20,000원) an extractive answer opens with, if any."""
        return (
            self.extractive.short_answer
            if self.extractive is not None and self.mode == "extractive"
            else None
        )

    @property
    def grounded(self) -> bool:
        """The answer cites a source and every figure in it is in a cited source."""
        return bool(self.cited) and (self.report is None or self.report.grounded)

    @property
    def faithfulness(self) -> dict[str, Any]:
        """The faithfulness check, as the API returns it (after the answer is complete)."""
        grounding = self.grounding
        base = self.report.to_dict() if self.report is not None else {"grounded": True, "unsupported": []}
        return {
            **base,
            "mode": self.mode,
            "policy": str(self.policy),
            "evidence_added": self.fallback,
            "uncited_sentences": list(grounding.unsupported_sentences) if grounding else [],
            "dropped_sentences": list(grounding.dropped) if grounding else [],
        }

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
        """When the answer has no ``[n]`` marker: the source it was evidently drawn from, if any (the
        rule the grounding filter attaches markers by: :func:`llm.evidence.supporting_source`)."""
        if cited_numbers(self.answer, {s.number for s in self.sources}):
            return None
        return supporting_source(self.answer, {s.number: s.hit.text for s in self.sources})

    @property
    def clean_answer(self) -> str:
        """The answer with citation markers that point at nothing removed."""
        return drop_invalid_markers(self.answer, {s.number for s in self.sources})

    @property
    def evidence(self) -> list[dict[str, Any]]:
        """The sentences of the cited sources that best support the answer (extractive highlights).

        Each item: ``source`` (the ``[n]`` number), ``sentence``, ``score`` (0-1, the mean coverage
        of the question's and the answer's content terms) and ``cited``. When the answer cites
        nothing, the sentences come from all offered sources (``cited: false``), so a reader still
        sees what the documents say. An answer made of quoted evidence (extractive, or evidence
        added to a generated one) lists the sentences it quotes first, with the composer's score:
        the highlight is what the answer says, not another sentence that merely shares its words.
        """
        cited = self.cited
        pool = cited or self.sources
        texts = [(ref.number, mask_pii(ref.hit.text) if self.mask_output else ref.hit.text) for ref in pool]
        numbers = {ref.number for ref in cited}
        found = select_evidence(self.search_query, self.clean_answer, texts, limit=EVIDENCE_LIMIT)
        quoted = self._quoted_evidence()
        if quoted:
            said = {"".join(e.sentence.split()) for e in quoted}
            rest = [e for e in found if "".join(e.sentence.split()) not in said]
            found = [*quoted, *rest][:EVIDENCE_LIMIT]
        return [{**item.as_dict(), "cited": item.source in numbers} for item in found]

    def _quoted_evidence(self) -> list[Evidence]:
        """The evidence sentences the answer quotes, when it is (or ends with) an extractive answer."""
        quoting = self.mode == "extractive" or self.fallback
        if not quoting or self.extractive is None:
            return []
        return [e for e in self.extractive.quoted if e.sentence in self.answer]


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
        self,
        searcher: HybridSearcher,
        model: ChatModel,
        llm: LLMSettings,
        pii_mode: PiiMode = PiiMode.OFF,
        *,
        small_model: bool = False,
        route: Callable[[AccessScope], str | None] | None = None,
        similarity: NounSimilarity | None = None,
    ) -> None:
        """``small_model``: the model is the bundled small one, which ``answer_mode=auto`` does not
        let write answers (see :attr:`core.settings.LLMSettings.answer_mode`). ``route``: the fine-tuned
        adapter (a name in ``llm.adapters``) answering a caller, None for the base model; an adapter
        writes its answers in ``auto`` mode (the release gate let it on for that). ``similarity``:
        Kiwi's noun similarity (the BM25 tokenizer), so extractive answers match paraphrased
        questions; None scores words by their letters only."""
        self._searcher = searcher
        self._similarity = similarity
        self._model = model
        self._llm = llm
        self._mode = resolve_answer_mode(llm, small_model=small_model)
        self._adapter_mode = resolve_answer_mode(llm, small_model=False)
        self._route = route
        # Personal data is masked in what the model sees and in what it streams back (in `reject`
        # mode too: a question is masked, not refused).
        self._mask = pii_mode is not PiiMode.OFF

    @property
    def model_name(self) -> str:
        """The model answers come from."""
        return self._model.model

    @property
    def mode(self) -> str:
        """How answers are made: ``generative`` or ``extractive`` (``auto`` resolved)."""
        return self._mode

    @property
    def needs_model(self) -> bool:
        """Whether answering calls the model at all (see :func:`needs_model`)."""
        return self._mode != "extractive" or self._llm.query_rewrite == "llm"

    def answer(
        self,
        messages: Sequence[dict[str, str]],
        scope: AccessScope,
        *,
        temperature: float | None = None,
        adapter: str | Route | None = Route.BY_GROUP,
    ) -> AnswerStream:
        """Retrieve evidence for the last user message and prepare the streamed answer.

        A follow-up is searched for as a standalone query (see :meth:`search_query`); the model
        still sees the question as asked, after the earlier turns.
        """
        started = time.perf_counter()
        if adapter is Route.BY_GROUP:
            adapter = self._route(scope) if self._route else None
        model = self._model if adapter is None else routed_model(self._model, self._llm.served_model(adapter))
        mode = self._mode if adapter is None else self._adapter_mode
        question = _last_user_message(messages)
        search_query = self.search_query(messages)
        rewritten = time.perf_counter()
        hits = self._searcher.search(search_query, scope, k=self._llm.chat_sources)
        retrieved = time.perf_counter()
        # Near-duplicates collapse, neighbouring chunks of one passage merge, all within the budget.
        assembled = assemble_context(hits, self._llm.context_tokens, approx_tokens)
        sources = [PromptSource(c.number, c.label, self._safe(c.text)) for c in assembled]
        history = [{**m, "content": self._safe(m["content"])} for m in _history(messages)]
        prompt = build_messages(self._safe(question), sources, history, self._llm.prompt_family)
        refs = [SourceRef(c.number, c.best) for c in assembled]
        timings = Timings(
            retrieval_ms=(retrieved - started) * 1000,
            rewrite_ms=(rewritten - started) * 1000,
            prompt_ms=(time.perf_counter() - retrieved) * 1000,
        )
        return AnswerStream(
            question,
            refs,
            prompt,
            model,
            self._llm,
            timings,
            started,
            self._mask,
            search_query=search_query,
            temperature=temperature,
            mode=mode,
            auto=self._llm.answer_mode == "auto",
            policy=FaithfulnessPolicy(self._llm.faithfulness_policy),
            similarity=self._similarity,
        )

    def regenerate(
        self, messages: Sequence[dict[str, str]], scope: AccessScope, *, temperature: float | None = None
    ) -> AnswerStream:
        """Answer the conversation's last question again.

        Trailing assistant turns (the answer being replaced) are dropped and the rest is answered
        as usual, at ``temperature`` or, by default, at least 0.7 so the new answer can differ.
        """
        trimmed = without_last_answer(messages)
        if temperature is None:
            temperature = max(self._llm.temperature, REGENERATE_MIN_TEMPERATURE)
        return self.answer(trimmed, scope, temperature=temperature)

    def search_query(self, messages: Sequence[dict[str, str]]) -> str:
        """What to search for: the last question, made standalone when it is a follow-up.

        ``query_rewrite`` = ``rules`` (default) merges terms of earlier user turns into a follow-up
        (:func:`llm.rewrite.standalone_query`); ``llm`` asks the model (personal data masked) and
        falls back to the rules; ``off`` searches the last question as asked.
        """
        question = _last_user_message(messages)
        mode = self._llm.query_rewrite
        if mode == "off" or len(user_turns(messages)) < 2:
            return question
        if mode == "llm":
            masked = [{**m, "content": self._safe(m.get("content", ""))} for m in messages]
            written = rewrite_with_model(self._model, masked)
            if written:
                return written
        return standalone_query(messages) or question

    def _safe(self, text: str) -> str:
        return mask_pii(text) if self._mask else text


def resolve_answer_mode(llm: LLMSettings, *, small_model: bool) -> str:
    """``generative`` or ``extractive``: ``auto`` is extractive for the bundled small model."""
    if llm.answer_mode != "auto":
        return llm.answer_mode
    return "extractive" if small_model else "generative"


def is_bundled_model(llm: LLMSettings) -> bool:
    """The configured model is the bundled small one (the embedded server on the default GGUF)."""
    return not llm.base_url and llm.model_path is None


def needs_model(llm: LLMSettings, *, small_model: bool) -> bool:
    """Whether answering calls the model at all (extractive answers with rule-based query rewriting
    do not, so no model server has to run)."""
    return resolve_answer_mode(llm, small_model=small_model) != "extractive" or llm.query_rewrite == "llm"


def _last_user_message(messages: Sequence[dict[str, str]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and message.get("content", "").strip():
            return message["content"].strip()
    msg = "no user message"
    raise ValueError(msg)


def without_last_answer(messages: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """``messages`` without the trailing assistant turn(s); it must still hold a user question."""
    trimmed = [dict(m) for m in messages]
    while trimmed and trimmed[-1].get("role") != "user":
        trimmed.pop()
    _last_user_message(trimmed)  # raises ValueError when nothing is left to answer
    return trimmed


def history_positions(messages: Sequence[dict[str, str]]) -> list[int]:
    """Where in ``messages`` the earlier turns the model is given as history are: strictly
    alternating user/assistant pairs (chat templates demand it), the last :data:`HISTORY_TURNS`.

    A stored conversation uses it to record which earlier answers a new answer could draw on.
    """
    alternating: list[int] = []
    for position, message in enumerate(messages[:-1]):
        if message.get("role") not in {"user", "assistant"} or not message.get("content"):
            continue
        previous = messages[alternating[-1]]["role"] if alternating else "assistant"
        expected = "user" if previous == "assistant" else "assistant"
        if message["role"] == expected:
            alternating.append(position)
    if alternating and messages[alternating[-1]]["role"] == "user":
        alternating.pop()
    return alternating[-HISTORY_TURNS:]


def _history(messages: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Earlier turns as the model sees them (see :func:`history_positions`)."""
    return [
        {"role": messages[i]["role"], "content": messages[i]["content"]} for i in history_positions(messages)
    ]
