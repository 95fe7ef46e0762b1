"""A small HTTP client for the Jikji API, as the UI uses it (no server-side imports)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class StreamedAnswer:
    """Collects a streamed chat answer: text deltas while streaming, sources at the end."""

    text: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)


class ApiClient:
    """Talks to ``/v1`` and ``/api/v1`` over HTTP."""

    def __init__(self, base_url: str, timeout_s: float = 180.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s, connect=5.0)

    def health(self) -> dict[str, Any]:
        """``GET /health``."""
        response = httpx.get(f"{self._base_url}/health", timeout=5.0)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def stream_chat(self, messages: list[dict[str, str]], answer: StreamedAnswer) -> Iterator[str]:
        """Stream an answer's text; ``answer`` receives the text and, at the end, the sources."""
        body = {"messages": messages, "stream": True}
        with httpx.stream(
            "POST", f"{self._base_url}/v1/chat/completions", json=body, timeout=self._timeout
        ) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiClientError.from_response(response)
            for event in _sse_events(response.iter_lines()):
                sources = event.get("sources")
                if sources is not None:
                    answer.sources = sources
                for choice in event.get("choices", []):
                    text = choice.get("delta", {}).get("content") or ""
                    if text:
                        answer.text += text
                        yield text


def _sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        yield json.loads(data)


class ApiClientError(RuntimeError):
    """The API answered with an error; carries its Korean and English messages."""

    def __init__(self, status: int, message_ko: str, message_en: str) -> None:
        super().__init__(f"{status}: {message_en}")
        self.status, self.message_ko, self.message_en = status, message_ko, message_en

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiClientError:
        """Build from a problem+json (or any) error response."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        return cls(
            response.status_code,
            body.get("message_ko", "서버 오류가 발생했습니다."),
            body.get("message_en", f"Server error ({response.status_code})."),
        )
