"""OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models``, grounded in the caller's documents.

Existing OpenAI clients work unchanged. Jikji adds one documented extension: ``sources`` — on the
response object (non-streaming) or on the final chunk before ``data: [DONE]`` (streaming) — listing
the numbered sources the answer may cite, each with ``cited: true`` when the answer cites it, and
``citation_inferred: true`` when the answer wrote no ``[n]`` marker and Jikji attributed it to the
source whose text covers most of it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.api.deps import ChatServiceDep, ScopeDep
from app.api.errors import ApiError
from app.services.chat import AnswerStream

router = APIRouter(prefix="/v1", tags=["openai"])


class ContentPart(BaseModel):
    """A part of a multi-part message; only text parts are used."""

    type: str
    text: str | None = None


class ChatMessageIn(BaseModel):
    """One message of the conversation."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text content."""
        if isinstance(self.content, list):
            return "\n".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    """OpenAI stream options."""

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat completion request Jikji honours."""

    model: str | None = Field(
        default=None, description="Ignored beyond echoing; Jikji answers with its model."
    )
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0, le=2)


def _messages(body: ChatCompletionRequest) -> list[dict[str, str]]:
    messages = [{"role": m.role, "content": m.text()} for m in body.messages]
    if not any(m["role"] == "user" and m["content"].strip() for m in messages):
        raise ApiError(
            422,
            "no_question",
            "질문(user 메시지)이 비어 있습니다.",
            "The request has no user message to answer.",
        )
    return messages


def _sources_payload(answer: AnswerStream) -> list[dict[str, Any]]:
    cited = {ref.number for ref in answer.cited}
    inferred = answer.inferred_citation
    return [
        {**ref.as_dict(), "cited": ref.number in cited, "citation_inferred": ref.number == inferred}
        for ref in answer.sources
    ]


def _usage(answer: AnswerStream) -> dict[str, int]:
    prompt = answer.usage.prompt_tokens if answer.usage else 0
    completion = answer.usage.completion_tokens if answer.usage else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@router.get("/models")
def list_models(chat: ChatServiceDep) -> dict[str, Any]:
    """The model Jikji answers with, in OpenAI's list format."""
    return {
        "object": "list",
        "data": [{"id": chat.model_name, "object": "model", "created": 0, "owned_by": "jikji"}],
    }


@router.post("/chat/completions", response_model=None)
def chat_completions(body: ChatCompletionRequest, chat: ChatServiceDep, scope: ScopeDep) -> Any:
    """Answer the last user message from the caller's documents, with numbered citations."""
    answer = chat.answer(_messages(body), scope)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = _stream_events(answer, completion_id, chat.model_name, include_usage=include_usage)
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    for _ in answer:
        pass
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model_name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.clean_answer},
                "finish_reason": answer.finish_reason or "stop",
            }
        ],
        "usage": _usage(answer),
        "sources": _sources_payload(answer),
    }


def _stream_events(
    answer: AnswerStream, completion_id: str, model: str, *, include_usage: bool
) -> Iterator[str]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    iterator = iter(answer)
    try:
        for text in iterator:
            yield chunk({"content": text})
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    yield chunk({}, answer.finish_reason or "stop", sources=_sources_payload(answer))
    if include_usage:
        usage_event = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(answer),
        }
        yield f"data: {json.dumps(usage_event)}\n\n"
    yield "data: [DONE]\n\n"
