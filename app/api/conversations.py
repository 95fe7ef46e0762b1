"""``/api/v1/conversations`` and ``/api/v1/messages``: chat threads, asking, regenerating, feedback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.api.admission import AnswerSlot
from app.api.deps import ChatLimit, ChatPrincipal, ChatServiceDep, ContainerDep, DbDep, PageLimit, PageOffset
from app.api.errors import problem_body
from app.api.sse import drain, sse_event
from app.services import conversations as service
from app.services.conversations import Turn
from llm.client import LLMUnavailableError

router = APIRouter(prefix="/api/v1", tags=["conversations"])
_log = logging.getLogger(__name__)


class ConversationIn(BaseModel):
    """A new conversation."""

    title: str = Field(default="", max_length=300, description="Optional; the first question otherwise.")


class RenameIn(BaseModel):
    """A conversation's new title."""

    title: str = Field(min_length=1, max_length=300)


class AskIn(BaseModel):
    """A question in a conversation."""

    content: str = Field(min_length=1, max_length=4000, description="The question.")
    stream: bool = Field(default=False, description="Answer as server-sent events.")


class RegenerateIn(BaseModel):
    """Answer the last question again."""

    stream: bool = False


class FeedbackIn(BaseModel):
    """👍 (1) or 👎 (-1) on an answer."""

    rating: Literal[1, -1]
    comment: str = Field(default="", max_length=2000)


class ConversationSummary(BaseModel):
    """A conversation in the list."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class ConversationPage(BaseModel):
    """A page of conversations."""

    total: int
    items: list[ConversationSummary]


class MessageOut(BaseModel):
    """A stored message; assistant messages carry sources, evidence and cost."""

    id: str
    role: str
    content: str
    sources: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    status: str
    grounded: bool | None = Field(
        description="The answer cites a source and every figure in it (amount, count, date, article) is in "
        "a cited source."
    )
    faithfulness: dict[str, Any] | None = Field(
        default=None,
        description="The faithfulness check: `grounded`, `unsupported` figures (text, kind, sentence), "
        "`supported`, `cited`, `mode` (generative | extractive), `policy`, `evidence_added`, "
        "`uncited_sentences`, `dropped_sentences`.",
    )
    feedback: int | None
    created_at: datetime
    withheld: bool = Field(
        default=False,
        description="This turn drew on documents the caller cannot see now: its text, sources and evidence "
        "are not returned (`content` says it is hidden, in Korean and English).",
    )


class ConversationOut(ConversationSummary):
    """A conversation with its messages."""

    messages: list[MessageOut]


class FeedbackOut(BaseModel):
    """The stored feedback."""

    message_id: str
    rating: int
    comment: str


# Both answering routes: the stored message as JSON, or server-sent events; chat rate limit.
_ANSWER_ROUTE: dict[str, Any] = {
    "response_model": MessageOut,
    "dependencies": [ChatLimit, AnswerSlot],
    "responses": {200: {"content": {"text/event-stream": {}}}},
}


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    principal: ChatPrincipal,
    db: DbDep,
    q: str = Query(default="", max_length=200, description="Filter by title."),
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """The caller's conversations, most recent first (a conversation with a turn the caller cannot see
    now is listed under a placeholder title, and the title filter does not match it)."""
    total, items = service.list_conversations(db, principal, q=q, limit=limit, offset=offset)
    return {"total": total, "items": items}


@router.post("/conversations", response_model=ConversationSummary, status_code=201)
def create_conversation(body: ConversationIn, principal: ChatPrincipal, db: DbDep) -> dict[str, Any]:
    """Start a new conversation."""
    return service.conversation_summary(service.create_conversation(db, principal, body.title))


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: str, principal: ChatPrincipal, db: DbDep) -> dict[str, Any]:
    """A conversation with its messages as the caller may see them now: sources of documents shared away
    are left out, and a turn that drew on a document the caller cannot see is a placeholder."""
    conversation = service.get_conversation(db, principal, conversation_id)
    return service.conversation_view(db, principal, conversation)


@router.patch("/conversations/{conversation_id}", response_model=ConversationSummary)
def rename_conversation(
    conversation_id: str, body: RenameIn, principal: ChatPrincipal, db: DbDep
) -> dict[str, Any]:
    """Rename a conversation."""
    conversation = service.get_conversation(db, principal, conversation_id)
    service.rename_conversation(conversation, body.title)
    return service.conversation_summary(conversation)


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, principal: ChatPrincipal, db: DbDep) -> None:
    """Delete a conversation and its messages."""
    service.delete_conversation(db, service.get_conversation(db, principal, conversation_id))


@router.post(
    "/conversations/{conversation_id}/messages",
    **_ANSWER_ROUTE,
)
def ask(
    conversation_id: str,
    body: AskIn,
    principal: ChatPrincipal,
    db: DbDep,
    chat: ChatServiceDep,
    container: ContainerDep,
) -> Any:
    """Ask in a conversation; the answer (and its sources and evidence) is stored."""
    conversation = service.get_conversation(db, principal, conversation_id)
    turn = service.ask(db, container.sessions, chat, principal, conversation, body.content)
    return _respond(turn, stream=body.stream)


@router.post(
    "/conversations/{conversation_id}/regenerate",
    **_ANSWER_ROUTE,
)
def regenerate(
    conversation_id: str,
    body: RegenerateIn,
    principal: ChatPrincipal,
    db: DbDep,
    chat: ChatServiceDep,
    container: ContainerDep,
) -> Any:
    """Answer the last question again, replacing the previous answer (403 `turn_withheld` when that
    question is withheld from the caller)."""
    conversation = service.get_conversation(db, principal, conversation_id)
    turn = service.regenerate(db, container.sessions, chat, principal, conversation)
    return _respond(turn, stream=body.stream)


@router.post("/messages/{message_id}/feedback", response_model=FeedbackOut)
def feedback(message_id: str, body: FeedbackIn, principal: ChatPrincipal, db: DbDep) -> dict[str, Any]:
    """👍/👎 with an optional comment on an answer in one of the caller's conversations."""
    stored = service.give_feedback(db, principal, message_id, body.rating, body.comment)
    return {"message_id": stored.message_id, "rating": stored.rating, "comment": stored.comment}


def _respond(turn: Turn, *, stream: bool) -> Any:
    if not stream:
        for _ in turn:
            pass
        return turn.message
    turn.open()  # a model server that is down fails the request (503) before the stream starts
    return StreamingResponse(
        _events(turn),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _deltas(turn: Turn) -> Iterator[str]:
    for text in turn:
        yield sse_event("delta", {"text": text})


async def _events(turn: Turn) -> AsyncIterator[str]:
    try:
        async for frame in drain(_deltas(turn)):
            yield frame
    except LLMUnavailableError:
        yield sse_event("error", problem_body(503, "llm_unavailable", *_LLM_DOWN))
        return
    except Exception:  # noqa: BLE001 - the client must get an end to the stream, not a hang
        _log.exception("answer stream failed")
        yield sse_event("error", problem_body(500, "internal_error", *_INTERNAL))
        return
    yield sse_event("done", {"message": turn.message})


_LLM_DOWN = (
    "언어 모델 서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "The language model server is unavailable; please try again shortly.",
)
_INTERNAL = ("답변 중 오류가 발생했습니다.", "The answer failed with an internal error.")
