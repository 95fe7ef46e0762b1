"""OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models``, grounded in the caller's documents.

Existing OpenAI clients work unchanged. Jikji adds three documented extension fields, all on the
response object (non-streaming) or on the final chunk — the one with ``finish_reason`` — before
``data: [DONE]`` (streaming); the official clients expose them as ``model_extra``:

- ``sources``: the numbered sources the answer may cite, each with ``cited: true`` when the answer
  cites it, and ``citation_inferred: true`` when the answer wrote no ``[n]`` marker and Jikji
  attributed it to the source whose text covers most of it.
- ``evidence``: the top supporting sentences, taken verbatim from the cited sources (from all
  offered sources when nothing is cited), best first: ``{"source": n, "sentence": "…", "score":
  0.83, "cited": true}``. ``source`` is the ``number`` of an entry of ``sources``; ``score`` (0-1)
  is how much of the question's and the answer's content terms the sentence covers. The evidence
  stays useful when the model's answer is short or wrong.
- ``faithfulness``: whether every figure of the answer (amounts, counts with units, percentages,
  dates, times, article references, quoted names) is in a cited source: ``grounded``, the
  ``unsupported`` and ``supported`` figures with the sentence each sits in, the answer ``mode``
  (``generative`` or ``extractive``), the ``policy`` applied, ``evidence_added`` (the evidence was
  appended to an answer that cited nothing or failed), ``uncited_sentences`` and ``dropped_sentences``.

Errors: when the model server cannot be reached the request fails with 503 problem+json (streaming
too: the model is contacted before the response starts). When it fails after streaming began (it
dropped the connection, sent an error, or went silent past the read timeout), the stream ends with an
OpenAI-style error event, ``data: {"error": {"message", "type", "code", "message_ko",
"message_en"}}``, then ``data: [DONE]`` — the official ``openai`` client raises ``APIError`` on it.
When the client disconnects, the stream to the model server is closed, so it stops generating.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from anyio import from_thread
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.api.admission import AnswerSlot
from app.api.deps import ChatLimit, ChatPrincipal, ChatServiceDep, ContainerDep, CurrentPrincipal
from app.auth.principal import Principal
from app.container import Container
from app.services.adapters import Route
from app.services.chat import AnswerStream
from app.services.conversations import ChatMeter
from app.services.errors import AppError
from app.services.scores import ranked_fields
from llm.client import LLMTimeoutError, LLMUnavailableError

router = APIRouter(prefix="/v1", tags=["openai"])
log = logging.getLogger(__name__)


MAX_QUESTION_CHARS = 4000
"""The longest question (the last user message), as on the conversation route."""


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
        default=None,
        description="The model to answer with: the base model's name, or a fine-tuned adapter assigned to "
        "one of the caller's groups (`GET /v1/models` lists them); another group's adapter is 404 "
        "`model_not_found`. Empty or any other name: the caller's group adapter, if any, else the base.",
    )
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0, le=2)


def _messages(body: ChatCompletionRequest) -> list[dict[str, str]]:
    messages = [{"role": m.role, "content": m.text()} for m in body.messages]
    if not any(m["role"] == "user" and m["content"].strip() for m in messages):
        raise AppError(
            422,
            "no_question",
            "질문(user 메시지)이 비어 있습니다.",
            "The request has no user message to answer.",
        )
    question = next(m["content"] for m in reversed(messages) if m["role"] == "user" and m["content"].strip())
    if len(question) > MAX_QUESTION_CHARS:
        raise AppError(
            422,
            "question_too_long",
            f"질문이 너무 깁니다 ({len(question):,}자). {MAX_QUESTION_CHARS:,}자 이내로 줄여 주십시오.",
            f"The question is too long ({len(question):,} characters); keep it under {MAX_QUESTION_CHARS:,}.",
        )
    return messages


def _sources_payload(answer: AnswerStream, *, raw_scores: bool) -> list[dict[str, Any]]:
    """The offered sources; their ``score`` a rank score unless ``raw_scores`` (admins: see
    :mod:`app.services.scores`)."""
    cited = {ref.number for ref in answer.cited}
    inferred = answer.inferred_citation
    sources = [
        {**ref.as_dict(), "cited": ref.number in cited, "citation_inferred": ref.number == inferred}
        for ref in answer.sources
    ]
    return sources if raw_scores else ranked_fields(sources, "score")


def _evidence_payload(answer: AnswerStream) -> list[dict[str, Any]]:
    return answer.evidence


def _finish_reason(answer: AnswerStream) -> str:
    """OpenAI's finish reasons only: Jikji's own (``stopped``, ``cancelled``) read as ``stop``."""
    return "length" if answer.finish_reason == "length" else "stop"


def _usage(answer: AnswerStream) -> dict[str, int]:
    prompt = answer.usage.prompt_tokens if answer.usage else 0
    completion = answer.usage.completion_tokens if answer.usage else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@router.get("/models")
def list_models(chat: ChatServiceDep, principal: CurrentPrincipal, container: ContainerDep) -> dict[str, Any]:
    """The models the caller may answer with (the base and their groups' adapters), in OpenAI's format."""
    names = [chat.model_name]
    if container.settings.llm.adapters:
        allowed = container.adapter_router.allowed_models(principal.access_scope())
        served = [container.settings.llm.served_model(a) for a in dict.fromkeys(allowed.values()) if a]
        names += [name for name in served if name not in names]
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": 0, "owned_by": "jikji"} for name in names],
    }


def model_not_found(name: str) -> AppError:
    """404 for a model the caller may not use, worded like an unknown model (no existence leak)."""
    return AppError(
        404,
        "model_not_found",
        f"찾을 수 없거나 쓸 수 없는 모델입니다: '{name}'.",
        f"The model '{name}' does not exist or you do not have access to it.",
    )


def _requested_adapter(
    name: str | None, chat_model: str, container: Container, principal: Principal
) -> str | Route | None:
    """What ``model`` asks for: an adapter of the caller's groups, the base model (its name), or, for
    any other name (clients send one they made up, e.g. ``jikji``), the caller's usual routing. A
    configured adapter the caller's groups are not assigned is 404, as if it did not exist."""
    llm = container.settings.llm
    if name == chat_model:
        return None
    if not name or not llm.adapters:
        return Route.BY_GROUP
    allowed = container.adapter_router.allowed_models(principal.access_scope())
    if name in allowed:
        return allowed[name]
    configured = {llm.served_model(adapter) for adapter in llm.adapters} | set(llm.adapters)
    if name in configured:
        raise model_not_found(name)
    return Route.BY_GROUP


@router.post(
    "/chat/completions",
    response_model=None,
    dependencies=[ChatLimit, AnswerSlot],
    responses={
        200: {
            "description": "A chat completion, or with `stream: true` its server-sent event chunks",
            "content": {"application/json": {}, "text/event-stream": {}},
        }
    },
)
def chat_completions(
    body: ChatCompletionRequest, chat: ChatServiceDep, principal: ChatPrincipal, container: ContainerDep
) -> Any:
    """Answer the last user message from the caller's documents, with numbered citations."""
    messages = _messages(body)
    raw_scores = principal.sees_all_documents
    adapter = _requested_adapter(body.model, chat.model_name, container, principal)
    answer = chat.answer(messages, principal.access_scope(), adapter=adapter)
    model_name = answer.model.model
    meter = ChatMeter(container.sessions, principal, answer, surface="openai")
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = _stream_events(
            answer, completion_id, model_name, include_usage=include_usage, raw_scores=raw_scores
        )
        return StreamingResponse(
            meter.around(events), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    for _ in answer:
        pass
    meter.record()
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.clean_answer},
                "finish_reason": answer.finish_reason or "stop",
            }
        ],
        "usage": _usage(answer),
        "sources": _sources_payload(answer, raw_scores=raw_scores),
        "evidence": _evidence_payload(answer),
        "faithfulness": answer.faithfulness,
    }


def _stream_events(
    answer: AnswerStream, completion_id: str, model: str, *, include_usage: bool, raw_scores: bool
) -> Iterator[str]:
    """Open the model stream, then return the server-sent events of the answer.

    Opening first means an unreachable model server raises here, inside the route, and becomes a 503
    problem response instead of a stream that breaks after its headers.
    """
    answer.open()
    return _events(answer, completion_id, model, include_usage=include_usage, raw_scores=raw_scores)


def _events(
    answer: AnswerStream, completion_id: str, model: str, *, include_usage: bool, raw_scores: bool
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
            if _client_gone():
                log.info("client went away (%s): closing the model stream", completion_id)
                return
            yield chunk({"content": text})
    except LLMUnavailableError as exc:
        log.warning("model stream failed mid-answer (%s): %s", completion_id, exc)
        yield _error_event(*_LLM_TIMEOUT if isinstance(exc, LLMTimeoutError) else _LLM_FAILED)
        yield "data: [DONE]\n\n"
        return
    except Exception:
        log.exception("answer stream failed (%s)", completion_id)
        yield _error_event(*_INTERNAL)
        yield "data: [DONE]\n\n"
        return
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # the client went away (GeneratorExit here): close the model's stream too
    yield chunk(
        {},
        _finish_reason(answer),
        sources=_sources_payload(answer, raw_scores=raw_scores),
        evidence=_evidence_payload(answer),
        faithfulness=answer.faithfulness,
    )
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


def _client_gone() -> bool:
    """Whether the request this stream serves was cancelled because the client disconnected.

    Starlette pulls each event of a synchronous stream in an anyio worker thread and, on disconnect,
    cancels the task waiting for it; anyio lets that thread see the cancellation. Waiting for the
    generator's close() instead would wait for the garbage collector: Starlette never closes a
    synchronous iterator it abandons. Outside a worker thread (iterated directly) it is never gone.
    """
    try:
        from_thread.check_cancelled()
    except asyncio.CancelledError:
        return True
    except RuntimeError:  # anyio.NoEventLoopError: not running in an anyio worker thread
        return False
    return False


_LLM_FAILED = (
    "llm_stream_failed",
    "server_error",
    "답변을 만드는 중에 언어 모델 서버와의 연결이 끊어졌습니다. 다시 시도해 주세요.",
    "The language model server failed while answering; please try again.",
)
_LLM_TIMEOUT = (
    "llm_timeout",
    "timeout",
    "언어 모델 서버가 제한 시간 안에 응답하지 않았습니다. 잠시 후 다시 시도해 주세요.",
    "The language model server stopped responding in time; please try again shortly.",
)
_INTERNAL = (
    "internal_error",
    "server_error",
    "답변을 만드는 중에 서버 내부 오류가 발생했습니다.",
    "An internal error occurred while answering.",
)


def _error_event(code: str, kind: str, message_ko: str, message_en: str) -> str:
    """An OpenAI-style error event (the ``openai`` client raises ``APIError`` with its message)."""
    error = {
        "message": message_en,
        "type": kind,
        "code": code,
        "message_ko": message_ko,
        "message_en": message_en,
    }
    return f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
