"""Conversations: a user's chat threads, asking within them, regenerating, feedback.

An answer is stored whatever happens to the stream: ``complete`` when the model finished,
``stopped`` when the user stopped or disconnected (with what was said so far), ``error`` when the
model failed. Every read is checked against the reader's current permissions: a turn whose answer
drew on a document the reader cannot see now is withheld (see :mod:`app.services.turn_access`), in
the list, in the conversation, in the history given to the model and when answering again. Source
scores are rank scores for everyone but admins (see :mod:`app.services.scores`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.principal import Principal
from app.services.audit import audit_text, record_event, record_usage
from app.services.chat import AnswerStream, ChatService, history_positions
from app.services.errors import invalid, not_found
from app.services.scores import ranked_fields
from app.services.turn_access import (
    WITHHELD_TITLE,
    conversations_with_withheld_turns,
    source_document_ids,
    turn_access,
    turn_withheld,
    withheld_view,
)
from core.db import utcnow
from core.models import Conversation, Feedback, Message
from retrieval.chunk_store import visible_document_ids

TITLE_CHARS = 60


def list_conversations(
    session: Session, principal: Principal, *, q: str = "", limit: int = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """The caller's conversations, most recently active first, optionally filtered by title.

    A conversation with a turn the caller may not see now is listed under :data:`WITHHELD_TITLE`,
    and a title filter never matches its real title.
    """
    scope = principal.access_scope()
    owned = Conversation.user_id == principal.user_id
    ordered = select(Conversation).order_by(Conversation.updated_at.desc(), Conversation.id)
    if q.strip():
        matching = list(session.scalars(ordered.where(owned, Conversation.title.contains(q.strip()))))
        hidden = conversations_with_withheld_turns(session, scope, [c.id for c in matching])
        shown = [c for c in matching if c.id not in hidden]
        return len(shown), [conversation_summary(c, hidden=False) for c in shown[offset : offset + limit]]
    total = session.scalar(select(func.count()).select_from(Conversation).where(owned)) or 0
    rows = list(session.scalars(ordered.where(owned).limit(limit).offset(offset)))
    hidden = conversations_with_withheld_turns(session, scope, [c.id for c in rows])
    return int(total), [conversation_summary(c, hidden=c.id in hidden) for c in rows]


def conversation_summary(conversation: Conversation, *, hidden: bool = False) -> dict[str, Any]:
    """A conversation's id, title (or :data:`WITHHELD_TITLE` when ``hidden``) and times."""
    return {
        "id": conversation.id,
        "title": WITHHELD_TITLE if hidden else conversation.title,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
    }


def get_conversation(session: Session, principal: Principal, conversation_id: str) -> Conversation:
    """One of the caller's conversations; someone else's is 404 like a missing one."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != principal.user_id:
        raise not_found("대화", "conversation")
    return conversation


def create_conversation(session: Session, principal: Principal, title: str = "") -> Conversation:
    """A new empty conversation."""
    conversation = Conversation(user_id=principal.user_id, title=title.strip()[:300])
    session.add(conversation)
    session.flush()
    return conversation


def rename_conversation(conversation: Conversation, title: str) -> None:
    """Give a conversation a new title."""
    clean = title.strip()
    if not clean:
        raise invalid("제목이 비어 있습니다.", "The title is empty.")
    conversation.title = clean[:300]


def delete_conversation(session: Session, conversation: Conversation) -> None:
    """Delete a conversation with its messages and their feedback."""
    session.delete(conversation)


def messages_of(session: Session, conversation_id: str) -> list[Message]:
    """A conversation's messages in order."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.created_at, Message.id)
        )
    )


def message_view(
    message: Message, visible: frozenset[str], rating: int | None, *, raw_scores: bool = True
) -> dict[str, Any]:
    """A stored message as the caller may see it (sources of invisible documents removed; their
    scores rank scores unless ``raw_scores``)."""
    sources = [s for s in message.sources or [] if s.get("document_id") in visible]
    kept = {s.get("number") for s in sources}
    evidence = [e for e in message.evidence or [] if e.get("source") in kept]
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "sources": sources if raw_scores else ranked_fields(sources, "score"),
        "evidence": evidence,
        "model": message.model,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "latency_ms": message.latency_ms,
        "status": message.status,
        "grounded": message.grounded,
        "faithfulness": _visible_faithfulness(message.faithfulness, kept),
        "feedback": rating,
        "created_at": message.created_at,
        "withheld": False,
    }


def _visible_faithfulness(report: dict[str, Any] | None, kept: set[Any]) -> dict[str, Any] | None:
    """The stored check with source numbers the caller may no longer see left out of its items."""
    if not report:
        return None
    strip = {"supported", "unsupported"}
    return {
        key: [{**item, "sources": [n for n in item.get("sources", []) if n in kept]} for item in value]
        if key in strip
        else value
        for key, value in report.items()
    } | {"cited": [n for n in report.get("cited", []) if n in kept]}


def conversation_view(session: Session, principal: Principal, conversation: Conversation) -> dict[str, Any]:
    """A conversation with its messages, filtered for the caller (withheld turns as placeholders)."""
    messages = messages_of(session, conversation.id)
    scope = principal.access_scope()
    access = turn_access(session, scope, messages)
    cited = frozenset().union(*(source_document_ids(m.sources) for m in messages))
    visible = visible_document_ids(session, scope.narrowed_to(cited)) if cited else frozenset()
    ratings = _ratings(session, principal, [m.id for m in messages])
    raw = principal.sees_all_documents
    return {
        **conversation_summary(conversation, hidden=bool(access.withheld)),
        "messages": [
            withheld_view(m, ratings.get(m.id))
            if m.id in access.withheld
            else message_view(m, visible, ratings.get(m.id), raw_scores=raw)
            for m in messages
        ],
    }


def _ratings(session: Session, principal: Principal, message_ids: list[str]) -> dict[str, int]:
    if not message_ids:
        return {}
    rows = session.execute(
        select(Feedback.message_id, Feedback.rating).where(
            Feedback.message_id.in_(message_ids), Feedback.user_id == principal.user_id
        )
    )
    return dict(rows.all())


def give_feedback(
    session: Session, principal: Principal, message_id: str, rating: int, comment: str = ""
) -> Feedback:
    """👍 (1) or 👎 (-1) on an answer in one of the caller's conversations; again replaces it."""
    message = session.get(Message, message_id)
    if message is None or message.role != "assistant":
        raise not_found("메시지", "message")
    get_conversation(session, principal, message.conversation_id)
    feedback = session.scalar(
        select(Feedback).where(Feedback.message_id == message_id, Feedback.user_id == principal.user_id)
    )
    if feedback is None:
        feedback = Feedback(message_id=message_id, user_id=principal.user_id, rating=rating)
        session.add(feedback)
    feedback.rating, feedback.comment = rating, comment.strip()[:2000]
    session.flush()
    return feedback


# --- asking -----------------------------------------------------------------------------------


@dataclass
class Turn:
    """One question being answered in a conversation; iterate for text, then read ``message``."""

    sessions: sessionmaker[Session]
    principal: Principal
    conversation_id: str
    answer: AnswerStream
    model_name: str
    context_documents: frozenset[str] = frozenset()
    """The documents of the earlier answers the model was given as history."""
    status: str = "complete"
    message: dict[str, Any] = field(default_factory=dict)

    def open(self) -> None:
        """Send the prompt to the model now, so a model server that is down fails the request before
        a stream starts; the turn is then stored as ``error`` (the question keeps a failed answer)."""
        try:
            self.answer.open()
        except Exception:
            self.status = "error"
            self.message = self._store()
            raise

    def __iter__(self) -> Iterator[str]:
        completed = False
        try:
            yield from self.answer
            completed = True
        except Exception:
            self.status = "error"
            raise
        finally:
            if not completed and self.status != "error":
                self.status = "stopped"
            self.message = self._store()

    def _store(self) -> dict[str, Any]:
        answer = self.answer
        cited = {ref.number for ref in answer.cited}
        sources = [{**ref.as_dict(), "cited": ref.number in cited} for ref in answer.sources]
        evidence = list(answer.evidence)
        usage = answer.usage
        with self.sessions.begin() as session:
            message = Message(
                conversation_id=self.conversation_id,
                role="assistant",
                content=answer.clean_answer if self.status == "complete" else answer.answer,
                sources=sources,
                evidence=evidence,
                model=self.model_name,
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                latency_ms=int(answer.timings.total_ms or (time.perf_counter() - answer.started) * 1000),
                status=self.status,
                grounded=answer.grounded,
                faithfulness=answer.faithfulness,
                search_query=answer.search_query or answer.question,
                context_document_ids=sorted(source_document_ids(sources) | self.context_documents),
            )
            session.add(message)
            conversation = session.get(Conversation, self.conversation_id)
            if conversation is not None:
                conversation.updated_at = utcnow()
            record_usage(
                session,
                self.principal,
                "chat",
                prompt_tokens=message.prompt_tokens,
                completion_tokens=message.completion_tokens,
            )
            session.flush()
            visible = frozenset(s["document_id"] for s in sources)
            return message_view(message, visible, None, raw_scores=self.principal.sees_all_documents)


def ask(
    session: Session,
    sessions: sessionmaker[Session],
    chat: ChatService,
    principal: Principal,
    conversation: Conversation,
    content: str,
) -> Turn:
    """Store the question, retrieve for it with the conversation as context, and prepare the answer."""
    question = content.strip()
    if not question:
        raise invalid("질문이 비어 있습니다.", "The question is empty.")
    earlier, context = _visible_history(session, principal, messages_of(session, conversation.id), question)
    # Retrieval before anything is written: a store that is down (503) leaves no unanswered question.
    answer = chat.answer([*earlier, {"role": "user", "content": question}], principal.access_scope())
    session.add(Message(conversation_id=conversation.id, role="user", content=question))
    if not conversation.title:
        conversation.title = question[:TITLE_CHARS]
    conversation.updated_at = utcnow()
    record_event(
        session,
        principal,
        "chat.ask",
        target_type="conversation",
        target_id=conversation.id,
        detail={"question": audit_text(question)},
    )
    session.commit()
    return Turn(sessions, principal, conversation.id, answer, answer.model.model, context)


def _visible_history(
    session: Session, principal: Principal, messages: list[Message], question: str | None
) -> tuple[list[dict[str, str]], frozenset[str]]:
    """The conversation as the model may be given it under the caller's current scope (withheld
    turns left out), and the documents of the answers among it the model will see as history.

    ``question`` is the new question after ``messages``; None when the last message is the question.
    """
    access = turn_access(session, principal.access_scope(), messages)
    kept = [m for m in messages if m.id not in access.withheld]
    turns = [{"role": m.role, "content": m.content} for m in kept]
    asked = [*turns, {"role": "user", "content": question}] if question is not None else turns
    context = access.documents_of(kept[i].id for i in history_positions(asked))
    return turns, context


def regenerate(
    session: Session,
    sessions: sessionmaker[Session],
    chat: ChatService,
    principal: Principal,
    conversation: Conversation,
) -> Turn:
    """Answer the conversation's last question again, replacing the answer after it."""
    messages = messages_of(session, conversation.id)
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        raise invalid("다시 답할 질문이 없습니다.", "There is no question to answer again.")
    if messages[last_user].id in turn_access(session, principal.access_scope(), messages).withheld:
        raise turn_withheld()
    history, context = _visible_history(session, principal, messages[: last_user + 1], None)
    answer = chat.regenerate(history, principal.access_scope())  # before the old answer is deleted
    session.execute(delete(Message).where(Message.id.in_([m.id for m in messages[last_user + 1 :]])))
    record_event(session, principal, "chat.regenerate", target_type="conversation", target_id=conversation.id)
    session.commit()
    return Turn(sessions, principal, conversation.id, answer, answer.model.model, context)


@dataclass
class ChatMeter:
    """Audit and usage for a chat answered outside a stored conversation (the OpenAI API)."""

    sessions: sessionmaker[Session]
    principal: Principal
    answer: AnswerStream
    surface: str
    _recorded: bool = False

    def record(self) -> None:
        """Write the audit event and the usage (once)."""
        if self._recorded:
            return
        self._recorded = True
        usage = self.answer.usage
        with self.sessions.begin() as session:
            record_event(
                session,
                self.principal,
                "chat.ask",
                detail={"question": audit_text(self.answer.question), "surface": self.surface},
            )
            record_usage(
                session,
                self.principal,
                "chat",
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            )

    def around(self, events: Iterator[str]) -> Iterator[str]:
        """Pass a stream through and record when it ends, however it ends."""
        try:
            yield from events
        finally:
            self.record()
