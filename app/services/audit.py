"""The audit log (who searched, asked, downloaded or changed what) and metered usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from core.db import utcnow
from core.models import AuditEvent, UsageEvent
from ingest.pii import mask_pii


def record_event(
    session: Session,
    principal: Principal | None,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    client_ip: str | None = None,
) -> None:
    """Append one audit event (in the caller's transaction, so it commits with the change)."""
    session.add(
        AuditEvent(
            user_id=principal.user_id if principal else None,
            api_key_id=principal.api_key_id if principal else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            detail=detail or {},
            client_ip=client_ip,
        )
    )


def audit_text(text: str, limit: int = 500) -> str:
    """User text as kept in the audit log: personal data masked, length capped."""
    return mask_pii(text[:limit])


def record_usage(
    session: Session,
    principal: Principal,
    kind: str,
    *,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> None:
    """Meter one search or chat request for the usage report."""
    now = utcnow()
    session.add(
        UsageEvent(
            at=now,
            day=now.date(),
            user_id=principal.user_id,
            api_key_id=principal.api_key_id,
            kind=kind,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for the audit log; all optional."""

    user_id: str | None = None
    action: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def query_events(session: Session, query: AuditQuery) -> tuple[int, list[AuditEvent]]:
    """Matching audit events, newest first, with the total count."""
    conditions = []
    if query.user_id:
        conditions.append(AuditEvent.user_id == query.user_id)
    if query.action:
        conditions.append(AuditEvent.action == query.action)
    if query.target_id:
        conditions.append(AuditEvent.target_id == query.target_id)
    if query.since:
        conditions.append(AuditEvent.at >= query.since)
    if query.until:
        conditions.append(AuditEvent.at < query.until)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    rows = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    return int(total), list(rows)


def usage_report(
    session: Session, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Requests and tokens per day, user, key and kind."""
    columns = (UsageEvent.day, UsageEvent.user_id, UsageEvent.api_key_id, UsageEvent.kind)
    stmt = select(
        *columns,
        func.count().label("requests"),
        func.coalesce(func.sum(UsageEvent.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(UsageEvent.completion_tokens), 0).label("completion_tokens"),
    ).group_by(*columns)
    if since:
        stmt = stmt.where(UsageEvent.day >= since)
    if until:
        stmt = stmt.where(UsageEvent.day <= until)
    stmt = stmt.order_by(UsageEvent.day.desc(), UsageEvent.user_id, UsageEvent.kind)
    return [dict(row._mapping) for row in session.execute(stmt)]
