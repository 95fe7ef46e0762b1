"""Feedback review for admins: rated answers with the question, the answer, the comment, the sources and
the evidence, filtered and paged; and promoting a rated answer into a golden item.

Only what the reviewer may see now is shown: a rated turn that depends on a document outside the
reviewer's scope (a deleted document, for an admin) is withheld exactly as in the conversation history
(:mod:`app.services.turn_access`): its question, answer, comment, sources and evidence are not shown,
and it cannot be promoted.

An admin key narrowed to some groups (a :class:`~app.services.golden.Narrowing`) reviews only answers
rated by a member of one of its groups whose documents it sees now; the others are left out entirely
(not shown as withheld, not counted) and cannot be promoted (404).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, and_, case, func, literal, or_, select, true
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from app.auth.principal import Principal
from app.services import golden
from app.services.errors import invalid, not_found
from app.services.turn_access import (
    WITHHELD_TEXT,
    TurnAccess,
    answer_dependencies,
    source_document_ids,
    visible_among,
    withheld_messages,
)
from core.db import in_batches
from core.models import Feedback, GoldenItem, Message, User, user_groups
from llm.answer_metrics import strip_citations
from retrieval.types import AccessScope


@dataclass(frozen=True, slots=True)
class FeedbackQuery:
    """Filters of the review list; all optional."""

    since: datetime | None = None
    until: datetime | None = None
    document_id: str | None = None
    group_id: str | None = None
    rating: int | None = None
    has_comment: bool | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class RatedTurn:
    """One rated answer with its question and whether the reviewer may see it."""

    feedback: Feedback
    answer: Message
    question: Message | None
    username: str | None
    withheld: bool
    documents: frozenset[str]


def _conditions(query: FeedbackQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.since:
        conditions.append(Feedback.created_at >= query.since)
    if query.until:
        conditions.append(Feedback.created_at < query.until)
    if query.rating is not None:
        conditions.append(Feedback.rating == query.rating)
    if query.has_comment is True:
        conditions.append(Feedback.comment != "")
    elif query.has_comment is False:
        conditions.append(Feedback.comment == "")
    if query.group_id:
        members = select(user_groups.c.user_id).where(user_groups.c.group_id == query.group_id)
        conditions.append(Feedback.user_id.in_(members))
    return conditions


def _raters_in(groups: frozenset[str]) -> ColumnElement[bool]:
    """Feedback given by a member of one of ``groups``."""
    members = select(user_groups.c.user_id).where(user_groups.c.group_id.in_(sorted(groups)))
    return Feedback.user_id.in_(members)


def review_feedback(
    session: Session, scope: AccessScope, query: FeedbackQuery, narrowing: golden.Narrowing | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Rated answers matching every filter, newest first, with the total count.

    ``document_id`` keeps answers that depend on that document (their sources or the history they
    were given). With a ``narrowing`` (``scope`` being the key's), only answers rated by a member of its
    groups and not withheld from it; ``group_id`` must then be one of its groups (403). Both are decided
    on the light columns of the candidates' conversations (the database first keeps the answers that may
    depend on the document), and only the page is read in full.
    """
    conditions = _conditions(query)
    if narrowing is not None:
        narrowing.check_filter(query.group_id)
        conditions.append(_raters_in(narrowing.groups))
    if query.document_id is not None:
        conditions.append(may_depend_on(session, query.document_id))
    stmt = (
        select(Feedback)
        .join(Message, Message.id == Feedback.message_id)
        .where(*conditions)
        .order_by(Feedback.created_at.desc(), Feedback.id)
    )
    if query.document_id is None and narrowing is None:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        page = list(session.scalars(stmt.limit(query.limit).offset(query.offset)))
    else:
        candidates = session.execute(
            stmt.with_only_columns(Feedback.id, Feedback.message_id, Message.conversation_id)
        ).all()
        kept = _kept(session, scope, candidates, query.document_id, narrowing)
        total, wanted = len(kept), kept[query.offset : query.offset + query.limit]
        found = {f.id: f for f in session.scalars(select(Feedback).where(Feedback.id.in_(wanted)))}
        page = [found[i] for i in wanted]
    turns = rated_turns(session, scope, page)
    promoted = _promoted(session, [t.feedback.id for t in turns], narrowing)
    return int(total), [_view(turn, promoted.get(turn.feedback.id, [])) for turn in turns]


def may_depend_on(session: Session, document_id: str) -> ColumnElement[bool]:
    """Feedback (joined to its answer) whose answer may depend on ``document_id``: exactly, for an answer
    that recorded its documents (``context_document_ids``); for an older one, when any message of its
    conversation cites the document or recorded it. A superset: :func:`_kept` decides."""
    other = aliased(Message)
    if session.get_bind().dialect.name == "postgresql":
        wanted = sql_cast(literal(json.dumps([document_id])), JSONB)
        cited = sql_cast(literal(json.dumps([{"document_id": document_id}])), JSONB)
        recorded = func.json_typeof(Message.context_document_ids) == "array"
        own: ColumnElement[bool] = sql_cast(Message.context_document_ids, JSONB).bool_op("@>")(wanted)
        in_conversation = or_(
            sql_cast(other.sources, JSONB).bool_op("@>")(cited),
            and_(
                func.json_typeof(other.context_document_ids) == "array",
                sql_cast(other.context_document_ids, JSONB).bool_op("@>")(wanted),
            ),
        )
    else:
        recorded = func.json_type(Message.context_document_ids) == "array"
        ids = func.json_each(Message.context_document_ids).table_valued("value")
        own = select(ids.c.value).where(ids.c.value == document_id).exists()
        sources = func.json_each(other.sources).table_valued("value").alias("cited_source")
        context = func.json_each(other.context_document_ids).table_valued("value").alias("recorded_id")
        in_conversation = or_(
            select(sources.c.value)
            .where(func.json_extract(sources.c.value, "$.document_id") == document_id)
            .exists(),
            and_(
                func.json_type(other.context_document_ids) == "array",
                select(context.c.value).where(context.c.value == document_id).exists(),
            ),
        )
    anywhere = (
        select(other.id).where(other.conversation_id == Message.conversation_id, in_conversation).exists()
    )
    return case((recorded, own), else_=anywhere) == true()


def _kept(
    session: Session,
    scope: AccessScope,
    candidates: Sequence[Row[str, str, str]],
    document_id: str | None,
    narrowing: golden.Narrowing | None,
) -> list[str]:
    """The ids of the candidates (feedback id, answer id, conversation id) whose answer depends on
    ``document_id`` (when given) and, with a ``narrowing``, is not withheld from ``scope``: the same
    decision as :func:`rated_turns`, read from each conversation's roles and documents only."""
    conversations = sorted({c.conversation_id for c in candidates})
    by_conversation = _light_messages(session, conversations)
    dependencies = {cid: answer_dependencies(rows) for cid, rows in by_conversation.items()}
    visible = _visible(session, scope, dependencies.values(), narrowing)
    withheld: dict[str, frozenset[str]] = {}
    kept = []
    for candidate in candidates:
        cid = candidate.conversation_id
        documents = dependencies[cid].get(candidate.message_id, frozenset())
        if document_id is not None and document_id not in documents:
            continue
        if narrowing is not None:
            if cid not in withheld:
                withheld[cid] = withheld_messages(by_conversation[cid], dependencies[cid], visible)
            if candidate.message_id in withheld[cid]:
                continue
        kept.append(candidate.id)
    return kept


def _light_messages(session: Session, conversations: Sequence[str]) -> dict[str, list[Message]]:
    """The messages of ``conversations`` in order, with only what access needs (id, role, recorded
    documents; the sources only in conversations holding an answer that recorded none)."""
    by_conversation: dict[str, list[Any]] = defaultdict(list)
    older: set[str] = set()
    for chunk in in_batches(conversations):
        rows = session.execute(
            select(Message.id, Message.conversation_id, Message.role, Message.context_document_ids)
            .where(Message.conversation_id.in_(chunk))
            .order_by(Message.created_at, Message.id)
        )
        for row in rows:
            by_conversation[row.conversation_id].append(row)
            if row.role == "assistant" and row.context_document_ids is None:
                older.add(row.conversation_id)
    for chunk in in_batches(sorted(older)):
        full: dict[str, list[Any]] = defaultdict(list)
        rows = session.execute(
            select(
                Message.id,
                Message.conversation_id,
                Message.role,
                Message.context_document_ids,
                Message.sources,
            )
            .where(Message.conversation_id.in_(chunk))
            .order_by(Message.created_at, Message.id)
        )
        for row in rows:
            full[row.conversation_id].append(row)
        by_conversation.update(full)
    # rows carry the attributes turn access reads of a message (id, role, context_document_ids, sources)
    return cast(dict[str, list[Message]], by_conversation)


def _visible(
    session: Session,
    scope: AccessScope,
    dependencies: Iterable[dict[str, frozenset[str]]],
    narrowing: golden.Narrowing | None = None,
) -> frozenset[str]:
    """Which of the documents in ``dependencies`` ``scope`` may see now (at most a few queries; none
    with a ``narrowing``, whose documents are those the key sees)."""
    referenced: frozenset[str] = frozenset().union(*(d for deps in dependencies for d in deps.values()))
    if narrowing is not None:
        return referenced & narrowing.documents
    return visible_among(session, scope, referenced)


def rated_turns(session: Session, scope: AccessScope, feedback: Sequence[Feedback]) -> list[RatedTurn]:
    """Each feedback's answer, question, rater and visibility (one read of the conversations, one of
    the documents' visibility)."""
    answers = {
        m.id: m
        for m in session.scalars(select(Message).where(Message.id.in_([f.message_id for f in feedback])))
    }
    conversations = sorted({m.conversation_id for m in answers.values()})
    by_conversation: dict[str, list[Message]] = defaultdict(list)
    for message in session.scalars(
        select(Message)
        .where(Message.conversation_id.in_(conversations))
        .order_by(Message.created_at, Message.id)
    ):
        by_conversation[message.conversation_id].append(message)
    dependencies = {cid: answer_dependencies(messages) for cid, messages in by_conversation.items()}
    visible = _visible(session, scope, dependencies.values())
    access = {
        cid: TurnAccess(withheld_messages(messages, dependencies[cid], visible), dependencies[cid])
        for cid, messages in by_conversation.items()
    }
    ids = sorted({f.user_id for f in feedback})
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
    turns = []
    for item in feedback:
        answer = answers[item.message_id]
        seen: TurnAccess = access[answer.conversation_id]
        turns.append(
            RatedTurn(
                feedback=item,
                answer=answer,
                question=_question_of(by_conversation[answer.conversation_id], answer.id),
                username=names.get(item.user_id),
                withheld=answer.id in seen.withheld,
                documents=seen.documents_of([answer.id]),
            )
        )
    return turns


def _question_of(messages: Sequence[Message], answer_id: str) -> Message | None:
    question = None
    for message in messages:
        if message.id == answer_id:
            return question
        if message.role == "user":
            question = message
    return None


def _promoted(
    session: Session, feedback_ids: Sequence[str], narrowing: golden.Narrowing | None = None
) -> dict[str, list[str]]:
    """Current golden items made from each feedback (with a ``narrowing``: those it shows)."""
    found: dict[str, list[str]] = defaultdict(list)
    if feedback_ids:
        rows = session.scalars(
            select(GoldenItem).where(
                GoldenItem.source_feedback_id.in_(list(feedback_ids)), GoldenItem.is_current
            )
        )
        for row in rows:
            if narrowing is None or narrowing.shows(row):
                found[str(row.source_feedback_id)].append(row.item_id)
    return found


def reviewable_feedback_ids(
    session: Session, scope: AccessScope, narrowing: golden.Narrowing, feedback_ids: Sequence[str]
) -> frozenset[str]:
    """Which of ``feedback_ids`` a narrowed key (``scope``) may review: rated by a member of one of its
    groups, not withheld from it."""
    ids = sorted({f for f in feedback_ids if f})
    if not ids:
        return frozenset()
    stmt = select(Feedback).where(Feedback.id.in_(ids), _raters_in(narrowing.groups))
    feedback = list(session.scalars(stmt))
    return frozenset(t.feedback.id for t in rated_turns(session, scope, feedback) if not t.withheld)


def _view(turn: RatedTurn, golden_ids: list[str]) -> dict[str, Any]:
    answer, withheld = turn.answer, turn.withheld
    return {
        "id": turn.feedback.id,
        "message_id": answer.id,
        "conversation_id": answer.conversation_id,
        "rating": turn.feedback.rating,
        "comment": "" if withheld else turn.feedback.comment,
        "created_at": turn.feedback.created_at,
        "user_id": turn.feedback.user_id,
        "username": turn.username,
        "question": WITHHELD_TEXT if withheld or turn.question is None else turn.question.content,
        "answer": WITHHELD_TEXT if withheld else answer.content,
        "sources": [] if withheld else list(answer.sources or []),
        "evidence": [] if withheld else list(answer.evidence or []),
        "model": None if withheld else answer.model,
        "grounded": None if withheld else answer.grounded,
        "answered_at": answer.created_at,
        "withheld": withheld,
        "golden_item_ids": golden_ids,
    }


def _cited_documents(answer: Message) -> list[str]:
    """The documents an answer cited (all of its sources when it marked none as cited)."""
    sources = list(answer.sources or [])
    cited = [s for s in sources if s.get("cited")]
    return sorted(source_document_ids(cited or sources))


def promote_feedback(
    session: Session,
    principal: Principal,
    feedback_id: str,
    overrides: dict[str, Any],
    narrowing: golden.Narrowing | None = None,
) -> Any:
    """A golden item from a rated answer: its question, its cited documents and, for a 👍, its answer
    (without ``[n]`` markers) unless ``overrides`` (fields of :class:`~app.services.golden.GoldenDraft`)
    say otherwise. A 👎 needs the correct ``answers``. 404 for a withheld or unknown feedback, and with a
    ``narrowing`` for one it may not review; the item's groups are then checked as for a new item."""
    feedback = session.get(Feedback, feedback_id)
    if feedback is None:
        raise not_found("피드백", "feedback")
    scope = principal.access_scope()
    if narrowing is not None and feedback.id not in reviewable_feedback_ids(
        session, scope, narrowing, [feedback.id]
    ):
        raise not_found("피드백", "feedback")
    (turn,) = rated_turns(session, scope, [feedback])
    if turn.withheld:
        raise not_found("피드백", "feedback")
    answers = overrides.get("answers")
    if not answers:
        if feedback.rating < 1:
            raise invalid(
                "👎 답변을 골든 항목으로 만들려면 올바른 정답(answers)을 적어 주세요.",
                "Promoting a 👎 answer needs the correct answer (answers).",
            )
        answers = [strip_citations(turn.answer.content).strip()]
    draft = golden.GoldenDraft(
        question=str(overrides.get("question") or (turn.question.content if turn.question else "")),
        answers=tuple(answers),
        document_ids=tuple(
            overrides["document_ids"]
            if overrides.get("document_ids") is not None
            else _cited_documents(turn.answer)
        ),
        article=overrides.get("article"),
        group_ids=tuple(overrides.get("group_ids") or ()),
        source_feedback_id=feedback.id,
        source_message_id=turn.answer.id,
    )
    return golden.create_item(session, principal, draft, narrowing)
