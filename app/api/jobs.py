"""``/api/v1/jobs``: ingestion job status, progress and errors (admins: all jobs; others: their own)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api.deps import DbDep, PageLimit, PageOffset, ReaderPrincipal
from app.services import jobs

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

JobStatusName = Literal["queued", "running", "succeeded", "failed"]


class JobOut(BaseModel):
    """One file's trip through ingestion."""

    id: str
    filename: str = Field(description="The uploaded file's display name (NFC; never a path).")
    status: JobStatusName
    progress: float = Field(ge=0, le=1)
    stage: str
    error_code: str | None = Field(description="Stable code when failed, e.g. `no_text`.")
    error_ko: str | None = Field(description="What went wrong, in Korean.")
    error_en: str | None = Field(description="What went wrong, in English.")
    attempts: int
    document_id: str | None = Field(description="The document it created or updated (when visible).")
    created_by: str | None = Field(description="Id of the user who queued it.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    """A page of jobs, newest first."""

    total: int
    items: list[JobOut]


@router.get("", response_model=JobPage)
def list_jobs(
    principal: ReaderPrincipal,
    db: DbDep,
    status: Annotated[JobStatusName | None, Query(description="Only jobs in this state.")] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """Jobs the caller may see: admins every job, everyone else the jobs they queued (a key narrowed to
    some groups, an admin's too: only those inside its groups)."""
    total, items = jobs.list_jobs(db, principal, jobs.JobQuery(status, limit, offset))
    return {"total": total, "items": items}


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, principal: ReaderPrincipal, db: DbDep) -> dict[str, Any]:
    """One job's status, progress and error (404 when missing or not the caller's)."""
    return jobs.get_job(db, principal, job_id)
