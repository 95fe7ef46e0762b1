"""A fake chat model implementing :class:`llm.client.ChatModel`, for fast tests and offline demos."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence

from llm.client import StreamChunk, Usage
from llm.prompts import NOT_FOUND_KO


class ExtractiveFakeModel:
    """Answers with the first sentence of the first source, cited as [1]; streams word by word."""

    model = "fake-extractive"

    def __init__(self, word_delay_s: float = 0.0) -> None:
        """``word_delay_s``: sleep before each word, to stand in for a model's decoding time (load tests)."""
        self.word_delay_s = word_delay_s

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,  # noqa: ARG002
        stop: Sequence[str] = (),  # noqa: ARG002
    ) -> Iterator[StreamChunk]:
        """Stream a deterministic, grounded-looking answer built from the prompt."""
        prompt = "\n".join(message["content"] for message in messages)
        answer = _first_source_sentence(prompt)
        words = answer.split(" ")
        for i, word in enumerate(words[:max_tokens]):
            if self.word_delay_s:
                time.sleep(self.word_delay_s)
            yield StreamChunk(text=word if i == 0 else " " + word)
        yield StreamChunk(finish_reason="stop", usage=Usage(len(prompt) // 2, len(words)))


def _first_source_sentence(prompt: str) -> str:
    match = re.search(r"<source id=\"1\"[^>]*>(.*?)</source>", prompt, re.DOTALL)
    if match is None:
        return NOT_FOUND_KO
    lines = [line.strip() for line in match.group(1).splitlines() if line.strip()]
    body = next((line for line in lines if len(line) >= 12), lines[0] if lines else "")
    sentence = re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0]
    return f"{sentence} [1]"
