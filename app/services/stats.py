"""Figures for the admin dashboard: questions, answer latency, feedback, citations, unanswered questions.

Days are UTC calendar days, like the usage report. Citations come from the ``sources`` stored with each
assistant message: an entry counts when it has ``cited: true`` and a ``document_id``; a message citing
a document several times counts once for it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from core.db import utcnow
from core.models import Document, Feedback, Message
from retrieval.chunk_store import visible_documents_clause
from retrieval.types import AccessScope


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """The window and list sizes of a dashboard request."""

    days: int = 30
    limit: int = 20


def dashboard_stats(session: Session, query: StatsQuery, scope: AccessScope) -> dict[str, Any]:
    """Every dashboard figure for the last ``query.days`` days.

    Document lists are restricted to what ``scope`` may see (an admin key limited to some groups
    does not learn the titles of other documents).
    """
    since = utcnow() - timedelta(days=query.days)
    citations = citation_counts(session, since)
    visible = _visible_documents(session, scope)
    return {
        "days": query.days,
        "questions_per_day": questions_per_day(session, since),
        "latency_ms": answer_latency(session, since),
        "feedback": feedback_counts(session, since),
        "most_cited": _most_cited(citations, visible, query.limit),
        "never_cited": _never_cited(citations, visible, query.limit),
        "unanswered": unanswered_questions(session, since, query.limit),
    }


def _day(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in the dialect at hand."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column)
    return cast(func.timezone("UTC", column), Date)  # not the server's TimeZone setting


def questions_per_day(session: Session, since: datetime) -> list[dict[str, Any]]:
    """How many questions users asked in conversations each day, oldest first."""
    day = _day(session, Message.created_at).label("day")
    rows = session.execute(
        select(day, func.count())
        .where(Message.role == "user", Message.created_at >= since)
        .group_by(day)
        .order_by(day)
    )
    return [{"day": _as_date(d), "count": int(n)} for d, n in rows]


def answer_latency(session: Session, since: datetime) -> dict[str, int | None]:
    """Median and 95th percentile of answer latency (complete answers; ``None`` without any)."""
    values = sorted(
        int(v)
        for v in session.scalars(
            select(Message.latency_ms).where(
                Message.role == "assistant",
                Message.created_at >= since,
                Message.status == "complete",
                Message.latency_ms > 0,
            )
        )
    )
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "count": len(values)}


def percentile(sorted_values: Sequence[int], pct: float) -> int | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return int(sorted_values[rank - 1])


def feedback_counts(session: Session, since: datetime) -> dict[str, Any]:
    """👍 and 👎 given in the window, and the share of 👎."""
    rows = session.execute(
        select(Feedback.rating, func.count())
        .where(Feedback.created_at >= since, Feedback.rating != 0)
        .group_by(Feedback.rating)
    )
    counts: Counter[bool] = Counter()
    for rating, n in rows:
        counts[rating > 0] += int(n)
    up, down = counts.get(True, 0), counts.get(False, 0)
    return {"up": up, "down": down, "down_rate": round(down / (up + down), 4) if up + down else 0.0}


def citation_counts(session: Session, since: datetime) -> Counter[str]:
    """Per document id, how many answers in the window cited it."""
    counts: Counter[str] = Counter()
    sources_lists = session.scalars(
        select(Message.sources).where(Message.role == "assistant", Message.created_at >= since)
    )
    for sources in sources_lists:
        cited = {
            str(s["document_id"])
            for s in sources or ()
            if isinstance(s, dict) and s.get("cited") is True and s.get("document_id")
        }
        counts.update(cited)
    return counts


def _visible_documents(session: Session, scope: AccessScope) -> dict[str, str]:
    """Current documents the scope may see: id → title."""
    stmt = select(Document.id, Document.title).where(Document.current_version_id.is_not(None))
    stmt = stmt.where(visible_documents_clause(scope))
    return {str(doc_id): str(title) for doc_id, title in session.execute(stmt)}


def _most_cited(citations: Counter[str], visible: dict[str, str], limit: int) -> list[dict[str, Any]]:
    ranked = sorted(
        ((doc_id, n) for doc_id, n in citations.items() if doc_id in visible),
        key=lambda item: (-item[1], visible[item[0]], item[0]),
    )
    return [{"document_id": d, "title": visible[d], "citations": n} for d, n in ranked[:limit]]


def _never_cited(citations: Counter[str], visible: dict[str, str], limit: int) -> list[dict[str, Any]]:
    unused = sorted((title, doc_id) for doc_id, title in visible.items() if doc_id not in citations)
    return [{"document_id": d, "title": t} for t, d in unused[:limit]]


def unanswered_questions(session: Session, since: datetime, limit: int) -> list[dict[str, Any]]:
    """Answers judged ungrounded (no supporting source), newest first, with the question before them."""
    question = aliased(Message)
    asked = (
        select(question.content)
        .where(
            question.conversation_id == Message.conversation_id,
            question.role == "user",
            question.created_at <= Message.created_at,
        )
        .order_by(question.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Message.id, asked, Message.created_at)
        .where(
            Message.role == "assistant",
            Message.grounded.is_(False),
            Message.created_at >= since,
        )
        .order_by(Message.created_at.desc(), Message.id)
        .limit(limit)
    )
    return [
        {"message_id": message_id, "question": text or "", "created_at": created_at}
        for message_id, text, created_at in rows
    ]


def _as_date(value: Any) -> date:
    """SQLite's ``date()`` answers a string; PostgreSQL a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
