"""One OpenAI-protocol chat client for every backend (embedded llama.cpp, vLLM).

Retries happen only before the first token (a half-streamed answer is never silently restarted), the
SDK's own retries are switched off so attempts never multiply, and closing the iterator closes the
upstream HTTP stream, which makes the server stop generating.

Errors: :class:`LLMUnavailableError` when the server cannot be reached or refuses the request
(raised by :meth:`OpenAIChatModel.stream` itself, before anything is streamed);
:class:`LLMStreamError` when it fails after the answer began (connection lost, an error event);
:class:`LLMTimeoutError` when it goes silent for longer than the read timeout.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
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
        """Stream the answer to ``messages``; closing the iterator cancels generation.

        Implementations may contact the server on the call itself (and raise
        :class:`LLMUnavailableError` there) or on the first ``next()``; failures after the answer
        began raise :class:`LLMStreamError`.
        """
        ...


class LLMUnavailableError(RuntimeError):
    """The model server could not be reached or failed before answering."""


class LLMStreamError(LLMUnavailableError):
    """The model server failed after the answer had begun (connection lost, error event)."""


class LLMTimeoutError(LLMStreamError):
    """The model server sent nothing for longer than the read timeout in the middle of an answer."""


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
    ) -> UpstreamStream:
        """Open the stream now (retrying with backoff until the server answers) and return it.

        Raises :class:`LLMUnavailableError` here, before any chunk, when the server cannot be
        reached; iterate the result for chunks and close it to cancel generation.
        """
        extra = {"stop": list(stop)} if stop else {}
        response = self._open(messages, max_tokens=max_tokens, temperature=temperature, **extra)
        return UpstreamStream(response, sum(len(m["content"]) for m in messages))

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
            except openai.APIStatusError as exc:  # 4xx: retrying would not help
                msg = f"LLM server refused the request ({exc.status_code}): {exc.message}"
                raise LLMUnavailableError(msg) from exc
        raise AssertionError  # pragma: no cover - the loop always returns or raises


class UpstreamStream:
    """An open streamed completion: iterate it for chunks, close it to close the HTTP response.

    It closes itself when the answer ends or fails; closing it early (the consumer stopped or the
    client went away) closes the connection, which is how the server learns to stop generating.
    """

    def __init__(self, response: Any, prompt_chars: int) -> None:
        self._response = response
        self._chunks = _chunks(response, prompt_chars)
        self.closed = False

    def __iter__(self) -> UpstreamStream:
        return self

    def __next__(self) -> StreamChunk:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except (httpx.TimeoutException, openai.APITimeoutError) as exc:
            self.close()
            msg = f"LLM server went silent mid-answer: {exc!r}"
            raise LLMTimeoutError(msg) from exc
        except (httpx.HTTPError, httpx.StreamError, openai.APIError) as exc:
            self.close()
            msg = f"LLM stream failed mid-answer: {exc!r}"
            raise LLMStreamError(msg) from exc

    def close(self) -> None:
        """Close the upstream HTTP response (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._chunks.close()
        self._response.close()

    def __enter__(self) -> UpstreamStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _chunks(response: Any, prompt_chars: int) -> Generator[StreamChunk, None, None]:
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
