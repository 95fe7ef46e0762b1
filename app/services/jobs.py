"""Ingestion jobs as callers see them: admins see every job, everyone else only their own.

A job whose document the caller may not see is hidden like a job that does not exist, so a job
never reveals a document outside the caller's access scope. A key narrowed to some groups (an admin's
included) sees only its owner's jobs inside that narrowed scope: a job that has no document yet (queued,
running, failed) counts by the permissions it was queued with (public, or one of the key's groups).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.services.errors import not_found
from core.models import Document, IngestionJob
from ingest.jobs import JobStatus
from retrieval.chunk_store import visible_documents_clause

IN_FLIGHT = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


@dataclass(frozen=True, slots=True)
class JobQuery:
    """Filters and paging for the job list."""

    status: str | None = None
    limit: int = 50
    offset: int = 0


def visible_jobs_clause(session: Session, principal: Principal) -> ColumnElement[bool]:
    """SQL condition on ``IngestionJob`` for the jobs ``principal`` may see."""
    if principal.sees_all_documents:
        return true()
    visible_documents = select(Document.id).where(visible_documents_clause(principal.access_scope()))
    clause = (IngestionJob.created_by == principal.user_id) & (
        IngestionJob.document_id.is_(None) | IngestionJob.document_id.in_(visible_documents)
    )
    if principal.groups_narrowed:
        outside = _documentless_jobs_outside(session, principal)
        if outside:
            clause = clause & IngestionJob.id.not_in(outside)
    return clause


def _documentless_jobs_outside(session: Session, principal: Principal) -> list[str]:
    """Ids of the caller's jobs without a document whose queued permissions a narrowed key does not
    cover (neither public nor shared with one of its groups)."""
    rows = session.execute(
        select(IngestionJob.id, IngestionJob.options).where(
            IngestionJob.created_by == principal.user_id, IngestionJob.document_id.is_(None)
        )
    )
    return [
        job_id
        for job_id, options in rows
        if not (options or {}).get("is_public")
        and not set((options or {}).get("group_ids") or ()) & principal.group_ids
    ]


def job_view(job: IngestionJob) -> dict[str, Any]:
    """The public fields of a job (never its staged file key or worker)."""
    return {
        "id": job.id,
        "filename": job.filename,
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "error_code": job.error_code,
        "error_ko": job.error_ko,
        "error_en": job.error_en,
        "attempts": job.attempts,
        "document_id": job.document_id,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def list_jobs(session: Session, principal: Principal, query: JobQuery) -> tuple[int, list[dict[str, Any]]]:
    """The caller's visible jobs, newest first, with their total count."""
    conditions = [visible_jobs_clause(session, principal)]
    if query.status:
        conditions.append(IngestionJob.status == query.status)
    total = session.scalar(select(func.count()).select_from(IngestionJob).where(*conditions)) or 0
    rows = session.scalars(
        select(IngestionJob)
        .where(*conditions)
        .order_by(IngestionJob.created_at.desc(), IngestionJob.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    return int(total), [job_view(job) for job in rows]


def get_job(session: Session, principal: Principal, job_id: str) -> dict[str, Any]:
    """One visible job, or the same 404 as a job that does not exist."""
    job = session.scalar(
        select(IngestionJob).where(IngestionJob.id == job_id, visible_jobs_clause(session, principal))
    )
    if job is None:
        raise not_found("작업", "job")
    return job_view(job)


def job_in_flight(session: Session, document_id: str, source_key: str | None) -> bool:
    """Whether a queued or running job will write to this document."""
    targets = IngestionJob.document_id == document_id
    if source_key is not None:
        targets = or_(targets, IngestionJob.source_key == source_key)
    found = session.scalar(
        select(IngestionJob.id).where(targets, IngestionJob.status.in_(IN_FLIGHT)).limit(1)
    )
    return found is not None
