"""One OpenAI-protocol chat client for every backend (embedded llama.cpp, vLLM).

Retries happen only before the first token (a half-streamed answer is never silently restarted), the
SDK's own retries are switched off so attempts never multiply, and closing the iterator closes the
upstream HTTP stream, which makes the server stop generating.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import openai

from core.settings import LLMSettings

RETRYABLE = (
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.InternalServerError,
    openai.RateLimitError,
)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one completion."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """A piece of a streamed answer; the last one carries the finish reason and usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


class ChatModel(Protocol):
    """A chat model that streams."""

    model: str

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
    ) -> Iterator[StreamChunk]:
        """Stream the answer to ``messages``; closing the iterator cancels generation."""
        ...


class LLMUnavailableError(RuntimeError):
    """The model server could not be reached or failed before answering."""


class OpenAIChatModel:
    """The official ``openai`` SDK pointed at any OpenAI-compatible server."""

    def __init__(self, settings: LLMSettings, base_url: str, attempts: int = 3) -> None:
        self.model = settings.model
        self._attempts = max(1, attempts)
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=settings.api_key.get_secret_value(),
            timeout=openai.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            max_retries=0,
        )

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
    ) -> Iterator[StreamChunk]:
        """Stream an answer, retrying with backoff only until the first chunk arrives."""
        extra = {"stop": list(stop)} if stop else {}
        response = self._open(messages, max_tokens=max_tokens, temperature=temperature, **extra)
        try:
            yield from _chunks(response, sum(len(m["content"]) for m in messages))
        finally:
            response.close()

    def _open(self, messages: list[dict[str, str]], **params: Any) -> Any:
        delay = 0.5
        for attempt in range(1, self._attempts + 1):
            try:
                return self._client.chat.completions.create(  # type: ignore[call-overload]
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    stream=True,
                    stream_options={"include_usage": True},
                    **params,
                )
            except RETRYABLE as exc:
                if attempt == self._attempts:
                    msg = f"LLM server unavailable after {attempt} attempts: {exc}"
                    raise LLMUnavailableError(msg) from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError  # pragma: no cover - the loop always returns or raises


def _chunks(response: Any, prompt_chars: int) -> Iterator[StreamChunk]:
    """Text chunks, then a final chunk with the finish reason and usage.

    Servers that do not report usage in streams (llama.cpp) stream one token per event, so the
    event count is the completion token count; the prompt count is then an estimate.
    """
    finish: str | None = None
    usage: Usage | None = None
    events = 0
    for event in response:
        events += 1
        if getattr(event, "usage", None):
            usage = Usage(event.usage.prompt_tokens or 0, event.usage.completion_tokens or 0)
        for choice in event.choices or []:
            if choice.delta and choice.delta.content:
                yield StreamChunk(text=choice.delta.content)
            finish = choice.finish_reason or finish
    if usage is None:
        usage = Usage(prompt_tokens=max(1, int(prompt_chars / 1.5)), completion_tokens=max(0, events - 1))
    yield StreamChunk(finish_reason=finish or "stop", usage=usage)
