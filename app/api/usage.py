"""Admin reporting: ``/api/v1/usage``, ``/api/v1/audit`` and the dashboard's ``/api/v1/admin/stats``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.api.deps import AdminPrincipal, DbDep, PageLimit, PageOffset
from app.services.audit import AuditQuery, query_events, usage_report
from app.services.stats import StatsQuery, dashboard_stats
from core.models import AuditEvent, User

router = APIRouter(prefix="/api/v1", tags=["admin"])


class UsageRow(BaseModel):
    """Requests and tokens of one user (or key) and kind on one day."""

    day: date
    user_id: str | None
    username: str | None
    api_key_id: str | None
    kind: str
    requests: int
    prompt_tokens: int
    completion_tokens: int


class UsageReport(BaseModel):
    """Usage rows, newest day first."""

    items: list[UsageRow]


class AuditOut(BaseModel):
    """One audit event."""

    id: str
    at: datetime
    user_id: str | None
    api_key_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    detail: dict[str, Any]
    client_ip: str | None


class AuditList(BaseModel):
    """A page of audit events, newest first."""

    total: int
    items: list[AuditOut]


class DayCount(BaseModel):
    """Questions asked on one (UTC) day."""

    day: date
    count: int


class Latency(BaseModel):
    """Answer latency percentiles in milliseconds (``null`` without answers)."""

    p50: int | None
    p95: int | None
    count: int = Field(description="Answers measured.")


class FeedbackStats(BaseModel):
    """👍/👎 counts and the share of 👎."""

    up: int
    down: int
    down_rate: float


class CitedDocument(BaseModel):
    """A document and how many answers cited it."""

    document_id: str
    title: str
    citations: int


class UncitedDocument(BaseModel):
    """A current document no answer cited in the window."""

    document_id: str
    title: str


class Unanswered(BaseModel):
    """An answer without supporting sources, with the question it answered."""

    message_id: str
    question: str
    created_at: datetime


class AdminStats(BaseModel):
    """The admin dashboard's figures over the last ``days`` days."""

    days: int
    questions_per_day: list[DayCount]
    latency_ms: Latency
    feedback: FeedbackStats
    most_cited: list[CitedDocument]
    never_cited: list[UncitedDocument]
    unanswered: list[Unanswered]


@router.get("/usage", response_model=UsageReport)
def usage(
    _admin: AdminPrincipal,
    db: DbDep,
    since: Annotated[date | None, Query(description="First day (UTC), inclusive.")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC), inclusive.")] = None,
) -> dict[str, Any]:
    """Requests and tokens per day, user, key and kind."""
    rows = usage_report(db, since=since, until=until)
    ids = sorted({r["user_id"] for r in rows if r["user_id"]})
    names: dict[str, str] = {}
    if ids:
        names = dict(db.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    return {"items": [{**r, "username": names.get(r["user_id"])} for r in rows]}


@router.get("/audit", response_model=AuditList)
def audit(
    _admin: AdminPrincipal,
    db: DbDep,
    user_id: str | None = None,
    action: str | None = None,
    target_id: str | None = None,
    since: Annotated[datetime | None, Query(description="From this moment (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Before this moment.")] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """Audit events matching every given filter, newest first."""
    total, events = query_events(
        db,
        AuditQuery(
            user_id=user_id,
            action=action,
            target_id=target_id,
            since=_utc(since),
            until=_utc(until),
            limit=limit,
            offset=offset,
        ),
    )
    return {"total": total, "items": [_event_out(e) for e in events]}


@router.get("/admin/stats", response_model=AdminStats)
def admin_stats(
    admin: AdminPrincipal,
    db: DbDep,
    days: Annotated[int, Query(ge=1, le=366, description="Window in days, ending now.")] = 30,
    limit: Annotated[int, Query(ge=1, le=200, description="Most entries in each list.")] = 20,
) -> dict[str, Any]:
    """Questions per day, answer latency, feedback, most/never cited documents, unanswered questions."""
    return dashboard_stats(db, StatsQuery(days=days, limit=limit), admin.access_scope())


def _utc(moment: datetime | None) -> datetime | None:
    """Timestamps are stored in UTC; a naive filter value is taken as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _event_out(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "user_id": event.user_id,
        "api_key_id": event.api_key_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "outcome": event.outcome,
        "detail": event.detail or {},
        "client_ip": event.client_ip,
    }
