"""Bringing the stores back into agreement after a crash (run when a worker starts)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.models import DocumentVersion, IngestionJob
from ingest.jobs import JobQueue, JobStatus
from ingest.originals import OriginalStore

log = logging.getLogger(__name__)


class RepairableIndex(Protocol):
    """What recovery needs from the index (implemented by :class:`retrieval.index.SearchIndex`)."""

    def repair(self, busy_source_keys: set[str], busy_since: datetime | None) -> list[str]:
        """Drop orphaned versions and vectors; return original keys no longer referenced."""
        ...


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What recovery did."""

    requeued_or_failed: list[str]
    files_removed: int


def recover(
    sessions: sessionmaker[Session], queue: JobQueue, index: RepairableIndex, originals: OriginalStore
) -> RecoveryReport:
    """Requeue jobs of dead workers, drop half-written versions, delete unreferenced files."""
    recovered = queue.recover()
    busy_since = _earliest_running_start(sessions)
    keys = index.repair(queue.busy_document_keys(), busy_since)
    for key in keys:
        originals.delete(key)
    removed = len(keys) + _remove_unreferenced_files(sessions, originals, busy_since)
    if recovered or removed:
        log.warning("recovery: %d job(s) requeued/failed, %d file(s) removed", len(recovered), removed)
    return RecoveryReport(recovered, removed)


def _earliest_running_start(sessions: sessionmaker[Session]) -> datetime | None:
    with sessions() as session:
        started = session.scalar(
            select(func.min(IngestionJob.started_at)).where(IngestionJob.status == JobStatus.RUNNING)
        )
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return started


def _remove_unreferenced_files(
    sessions: sessionmaker[Session], originals: OriginalStore, busy_since: datetime | None
) -> int:
    if busy_since is not None:
        return 0  # a running job may have stored a file it has not recorded yet
    with sessions() as session:
        referenced = set(session.scalars(select(DocumentVersion.file_key)))
        referenced |= {k for k in session.scalars(select(IngestionJob.file_key)) if k}
    stray = [key for key in originals.all_keys() if key not in referenced]
    for key in stray:
        originals.delete(key)
    return len(stray)
