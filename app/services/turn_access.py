"""Which turns of a stored conversation the caller may see *now*.

A turn is a question and the answer after it. An answer depends on documents: its own sources and,
through the history the model was given, the documents of the earlier answers in that history (stored
with each answer as ``context_document_ids``; an answer stored before that was recorded is read as
depending on every earlier answer of its conversation). A turn whose answer depends on a document the
caller's current scope does not cover — a key narrowed to fewer groups, a user removed from a group,
a document shared away or deleted — is withheld: it is shown as :data:`WITHHELD_TEXT`, never with its
text or citations, never given to the model as history and never answered again. A conversation with a
withheld turn also hides its title (it is usually the first question).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.errors import AppError
from core.db import IN_LIST_BATCH
from core.models import Message
from retrieval.chunk_store import visible_document_ids
from retrieval.types import AccessScope

WITHHELD_TEXT = (
    "[숨김] 지금 권한으로 볼 수 없는 문서를 바탕으로 한 대화라 표시하지 않습니다. "
    "/ [Hidden] This turn drew on documents you cannot see now."
)
WITHHELD_TITLE = "[숨김] 볼 수 없는 문서를 다룬 대화 / [Hidden] A conversation about documents you cannot see"


@dataclass(frozen=True, slots=True)
class TurnAccess:
    """The withheld message ids of a conversation and each answer's documents."""

    withheld: frozenset[str] = frozenset()
    dependencies: dict[str, frozenset[str]] = field(default_factory=dict)

    def documents_of(self, message_ids: Iterable[str]) -> frozenset[str]:
        """The documents these messages' answers depend on (questions depend on none)."""
        found: set[str] = set()
        for message_id in message_ids:
            found |= self.dependencies.get(message_id, frozenset())
        return frozenset(found)


def source_document_ids(sources: Sequence[dict[str, Any]] | None) -> frozenset[str]:
    """The documents of an answer's stored sources."""
    return frozenset(str(s["document_id"]) for s in sources or [] if s.get("document_id"))


def answer_dependencies(messages: Sequence[Message]) -> dict[str, frozenset[str]]:
    """Each answer's documents, by message id (``messages`` in conversation order)."""
    earlier: set[str] = set()
    dependencies: dict[str, frozenset[str]] = {}
    for message in messages:
        if message.role != "assistant":
            continue
        if message.context_document_ids is not None:
            documents = frozenset(message.context_document_ids)
        else:  # stored before dependencies were recorded: the model may have seen every earlier answer
            documents = source_document_ids(message.sources) | earlier
        dependencies[message.id] = documents
        earlier |= documents
    return dependencies


def _turns(messages: Sequence[Message]) -> list[list[Message]]:
    """The messages grouped into turns: each question with the answers after it."""
    turns: list[list[Message]] = []
    for message in messages:
        if message.role == "user" or not turns:
            turns.append([])
        turns[-1].append(message)
    return turns


def withheld_messages(
    messages: Sequence[Message], dependencies: dict[str, frozenset[str]], visible: frozenset[str]
) -> frozenset[str]:
    """Ids of the messages of every turn whose answer depends on a document outside ``visible``."""
    withheld: set[str] = set()
    for turn in _turns(messages):
        if any(not dependencies.get(m.id, frozenset()) <= visible for m in turn):
            withheld.update(m.id for m in turn)
    return frozenset(withheld)


def visible_among(session: Session, scope: AccessScope, documents: frozenset[str]) -> frozenset[str]:
    """Which of ``documents`` ``scope`` may see now (one query: narrowed to them, or, past
    ``IN_LIST_BATCH`` of them, everything the scope sees intersected with them)."""
    if not documents:
        return frozenset()
    if len(documents) > IN_LIST_BATCH:
        return documents & visible_document_ids(session, scope)
    return visible_document_ids(session, scope.narrowed_to(documents))


def turn_access(session: Session, scope: AccessScope, messages: Sequence[Message]) -> TurnAccess:
    """Which of one conversation's ``messages`` (in order) ``scope`` may not see now."""
    dependencies = answer_dependencies(messages)
    visible = visible_among(session, scope, frozenset().union(*dependencies.values()))
    return TurnAccess(withheld_messages(messages, dependencies, visible), dependencies)


def conversations_with_withheld_turns(
    session: Session, scope: AccessScope, conversation_ids: Sequence[str]
) -> frozenset[str]:
    """Which of these conversations hold a turn ``scope`` may not see now."""
    if not conversation_ids:
        return frozenset()
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id.in_(list(conversation_ids)))
        .order_by(Message.created_at, Message.id)
    )
    by_conversation: dict[str, list[Message]] = defaultdict(list)
    for message in rows:
        by_conversation[message.conversation_id].append(message)
    dependencies = {cid: answer_dependencies(messages) for cid, messages in by_conversation.items()}
    referenced = frozenset().union(*(d for deps in dependencies.values() for d in deps.values()))
    visible = visible_among(session, scope, referenced)
    return frozenset(
        cid
        for cid, messages in by_conversation.items()
        if withheld_messages(messages, dependencies[cid], visible)
    )


def withheld_view(message: Message, rating: int | None) -> dict[str, Any]:
    """A withheld message as the caller sees it: a placeholder, nothing of its text or sources."""
    return {
        "id": message.id,
        "role": message.role,
        "content": WITHHELD_TEXT,
        "sources": [],
        "evidence": [],
        "model": None,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "latency_ms": 0,
        "status": message.status,
        "grounded": None,
        "faithfulness": None,
        "feedback": rating,
        "created_at": message.created_at,
        "withheld": True,
    }


def turn_withheld() -> AppError:
    """Answering a withheld question again is refused (its text and answer are hidden from the caller)."""
    return AppError(
        403,
        "turn_withheld",
        "마지막 질문은 지금 권한으로 볼 수 없는 문서를 바탕으로 한 대화라 다시 답할 수 없습니다. "
        "새 질문을 해 주세요.",
        "The last question drew on documents you cannot see now, so it cannot be answered again; "
        "ask a new question.",
    )
