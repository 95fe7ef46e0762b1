"""The ingestion job queue in SQL, and the runner that works through it.

Every upload is a job: queued → running → succeeded | failed, with progress and an error a person
can act on. Workers (a thread in the API process, or ``jikji worker`` processes) claim jobs with a
conditional update, so two workers never run the same job. A running job beats a heartbeat; a job
whose worker died (its process is gone, or its heartbeat is stale) is retried, or failed after
``max_attempts``.

A runner takes the jobs already queued together, up to ``group_chunks`` chunks: each file is parsed
and chunked on its own, their chunks are embedded in shared length-sorted batches, then each
file's version is written and switched on its own. A file that fails fails only its own job.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction, utcnow
from core.models import IngestionJob
from core.settings import JobSettings
from ingest.errors import IngestError
from ingest.originals import OriginalStore
from ingest.pipeline import IngestOutcome, IngestPipeline, IngestRequest, PendingIngest
from retrieval.types import DependencyUnavailableError

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5
GROUP_CHUNKS = 512  # ~10 s of embedding on 2 idle CPU cores; heartbeats go out between slices
HOUSEKEEPING_EVERY_S = 600.0  # idle clean-up (expired sessions) at most every ten minutes
GROUP_JOBS = 64
GROUP_BYTES = 64 * 1024 * 1024  # uploads held in memory until their versions are written
SERVICE_RETRY_S = (1.0, 30.0)  # wait before retrying jobs a service outage sent back: first, longest
WAITING_STAGE = "waiting_for_service"
T = TypeVar("T")


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as callers see it."""

    id: str
    filename: str
    status: str
    progress: float
    stage: str
    document_id: str | None
    error_code: str | None
    error_ko: str | None
    error_en: str | None
    attempts: int

    @classmethod
    def of(cls, job: IngestionJob) -> JobView:
        """Snapshot of an ORM row."""
        return cls(
            job.id,
            job.filename,
            job.status,
            job.progress,
            job.stage,
            job.document_id,
            job.error_code,
            job.error_ko,
            job.error_en,
            job.attempts,
        )


def new_worker_id() -> str:
    """``host:pid:random`` — lets recovery tell whether a job's worker process still lives."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _worker_alive(worker_id: str | None) -> bool:
    if not worker_id:
        return False
    host, _, rest = worker_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine: only the heartbeat can tell
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobQueue:
    """Enqueue, claim, report on and recover ingestion jobs."""

    def __init__(
        self, sessions: sessionmaker[Session], staging: OriginalStore, settings: JobSettings
    ) -> None:
        self._sessions = sessions
        self._staging = staging
        self._settings = settings

    def enqueue(
        self,
        data: bytes,
        filename: str,
        *,
        source_key: str | None = None,
        is_public: bool = False,
        group_ids: tuple[str, ...] = (),
        created_by: str | None = None,
        document_id: str | None = None,
        force: bool = False,
    ) -> str:
        """Store the upload and queue a job for it; returns the job id.

        ``document_id`` ties a job to the document it will update (a re-ingestion); ``force``
        re-parses even when the content is unchanged.
        """
        blob = self._staging.put(data)
        options: dict[str, object] = {"is_public": is_public, "group_ids": list(group_ids)}
        if force:
            options["force"] = True
        with transaction(self._sessions) as session:
            job = IngestionJob(
                filename=filename,
                file_key=blob,
                source_key=source_key,
                document_id=document_id,
                options=options,
                created_by=created_by,
                status=JobStatus.QUEUED,
            )
            session.add(job)
            session.flush()
            return job.id

    def get(self, job_id: str) -> JobView | None:
        """The job's current state."""
        with self._sessions() as session:
            job = session.get(IngestionJob, job_id)
            return JobView.of(job) if job else None

    def claim(self, worker_id: str) -> IngestionJob | None:
        """Take the oldest queued job for ``worker_id`` (None when the queue is empty)."""
        for _ in range(5):
            with self._sessions() as session:
                job_id = session.scalar(
                    select(IngestionJob.id)
                    .where(IngestionJob.status == JobStatus.QUEUED)
                    .order_by(IngestionJob.created_at, IngestionJob.id)
                    .limit(1)
                )
            if job_id is None:
                return None
            if self._mark_running(job_id, worker_id):
                with self._sessions() as session:
                    return session.get(IngestionJob, job_id)
        return None

    def _mark_running(self, job_id: str, worker_id: str) -> bool:
        now = utcnow()
        with transaction(self._sessions) as session:
            result = session.execute(
                update(IngestionJob)
                .where(IngestionJob.id == job_id, IngestionJob.status == JobStatus.QUEUED)
                .values(
                    status=JobStatus.RUNNING,
                    worker_id=worker_id,
                    started_at=now,
                    heartbeat_at=now,
                    attempts=IngestionJob.attempts + 1,
                    stage="starting",
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def report(self, job_id: str, progress: float, stage: str) -> None:
        """Record progress (and a heartbeat)."""
        with transaction(self._sessions) as session:
            session.execute(
                update(IngestionJob)
                .where(IngestionJob.id == job_id)
                .values(progress=round(progress, 4), stage=stage, heartbeat_at=utcnow())
            )

    def succeed(self, job_id: str, document_id: str, stage: str) -> None:
        """Mark a job done and drop its staged upload."""
        self._finish(job_id, JobStatus.SUCCEEDED, document_id=document_id, progress=1.0, stage=stage)

    def fail(self, job_id: str, error: IngestError) -> None:
        """Mark a job failed with a message a person can act on."""
        self._finish(
            job_id,
            JobStatus.FAILED,
            error_code=error.code,
            error_ko=error.message_ko,
            error_en=error.message_en,
            stage="failed",
        )

    def requeue(self, job_id: str) -> None:
        """Put a running job back in the queue because a service it needs is down (a Chroma server, an
        embeddings service); the attempt does not count against ``max_attempts``."""
        with transaction(self._sessions) as session:
            session.execute(
                update(IngestionJob)
                .where(IngestionJob.id == job_id, IngestionJob.status == JobStatus.RUNNING)
                .values(
                    status=JobStatus.QUEUED,
                    stage=WAITING_STAGE,
                    progress=0.0,
                    worker_id=None,
                    attempts=IngestionJob.attempts - 1,
                )
            )

    def _finish(self, job_id: str, status: JobStatus, **values: object) -> None:
        with transaction(self._sessions) as session:
            job = session.get_one(IngestionJob, job_id)
            blob = job.file_key
            for key, value in values.items():
                setattr(job, key, value)
            job.status = status
            job.finished_at = utcnow()
            job.file_key = None
        if blob:
            self._staging.delete(blob)

    def staged_bytes(self, job: IngestionJob) -> bytes:
        """The uploaded bytes of a job."""
        if not job.file_key:
            msg = f"job {job.id} has no staged upload"
            raise LookupError(msg)
        return self._staging.read(job.file_key)

    def recover(self) -> list[str]:
        """Requeue (or fail, after too many attempts) running jobs whose worker is gone."""
        stale_before = utcnow() - timedelta(seconds=self._settings.stale_after_s)
        recovered: list[str] = []
        with self._sessions() as session:
            running = session.scalars(
                select(IngestionJob).where(IngestionJob.status == JobStatus.RUNNING)
            ).all()
            dead = [j.id for j in running if _is_dead(j, stale_before)]
        for job_id in dead:
            self._requeue_or_fail(job_id)
            recovered.append(job_id)
        return recovered

    def _requeue_or_fail(self, job_id: str) -> None:
        with transaction(self._sessions) as session:
            job = session.get_one(IngestionJob, job_id)
            if job.attempts < self._settings.max_attempts:
                job.status, job.stage, job.progress, job.worker_id = JobStatus.QUEUED, "retrying", 0.0, None
                return
        self.fail(
            job_id,
            IngestError(
                "worker_crashed",
                f"처리 중 작업자가 {job.attempts}번 중단되어 실패로 처리했습니다. 파일을 확인해 주세요.",
                f"The worker stopped {job.attempts} times while processing this file; it was marked failed.",
            ),
        )

    def busy_document_keys(self) -> set[str]:
        """Source keys of running jobs (recovery must not touch versions they may be writing)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(IngestionJob.source_key).where(IngestionJob.status == JobStatus.RUNNING)
            ).all()
        return {key for key in rows if key}


def _is_dead(job: IngestionJob, stale_before: datetime) -> bool:
    heartbeat = job.heartbeat_at
    if heartbeat is not None and heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=stale_before.tzinfo)
    return not _worker_alive(job.worker_id) or heartbeat is None or heartbeat < stale_before


class JobRunner:
    """Works through the queue: claim jobs, run the pipeline, record each outcome."""

    def __init__(
        self,
        queue: JobQueue,
        pipeline: IngestPipeline,
        worker_id: str | None = None,
        on_idle: Callable[[], object] | None = None,
        group_chunks: int = GROUP_CHUNKS,
        housekeeping: Callable[[], object] | None = None,
        housekeeping_every_s: float = HOUSEKEEPING_EVERY_S,
    ) -> None:
        self.queue = queue
        self.pipeline = pipeline
        self.worker_id = worker_id or new_worker_id()
        # Called when the queue drains after work (e.g. rebuild and save the BM25 index once for a
        # whole batch instead of after every file).
        self._on_idle = on_idle or (lambda: None)
        # Queued jobs are taken together until their chunks reach this many (0: one job at a time);
        # a job never waits for others to be queued.
        self._group_chunks = group_chunks
        # Periodic clean-up while idle (e.g. expired login sessions), at most every so often.
        self._housekeeping = housekeeping or (lambda: None)
        self._housekeeping_every_s = housekeeping_every_s
        self._housekeeping_due = 0.0
        self._service_retry_s = 0.0  # > 0 while jobs wait for a service that was down
        self._requeued = False

    def run_one(self) -> JobView | None:
        """Run the next queued job to the end, with any queued jobs that join its group.

        Returns the first job's state; None when the queue is empty.
        """
        ran = self._run_group()
        return self.queue.get(ran[0]) if ran else None

    def _run_group(self) -> list[str]:
        """Claim, start, embed together and finish a group of jobs; the ids of the jobs run."""
        self._requeued = False
        ran: list[str] = []
        waiting: list[tuple[str, PendingIngest]] = []
        chunks = held = 0
        while not ran or (chunks < self._group_chunks and len(ran) < GROUP_JOBS and held < GROUP_BYTES):
            job = self.queue.claim(self.worker_id)
            if job is None:
                break
            ran.append(job.id)
            pending = self._start(job)
            if pending is not None:
                waiting.append((job.id, pending))
                chunks += pending.chunk_count
                held += len(pending.request.data)
        for job_id, pending in self._embed(waiting):
            outcome = self._attempt(job_id, partial(self.pipeline.finish, pending))
            if outcome is not None:
                self.queue.succeed(job_id, outcome.document_id, outcome.status)
        return ran

    def _start(self, job: IngestionJob) -> PendingIngest | None:
        """Parse and chunk a job's file; None when the job is already over (unchanged or failed)."""
        reporter = _ThrottledReporter(self.queue, job.id)
        started = self._attempt(job.id, lambda: self.pipeline.start(self._request(job), progress=reporter))
        if isinstance(started, IngestOutcome):
            self.queue.succeed(job.id, started.document_id, started.status)
            return None
        return started

    def _embed(self, waiting: Sequence[tuple[str, PendingIngest]]) -> list[tuple[str, PendingIngest]]:
        """Embed the group's chunks together; if that fails, file by file so only a bad file fails."""
        if len(waiting) > 1:
            try:
                self.pipeline.embed([pending for _, pending in waiting])
            except Exception:
                log.exception("embedding %d files together failed; retrying them one by one", len(waiting))
            else:
                return list(waiting)
        return [
            (job_id, pending)
            for job_id, pending in waiting
            if self._attempt(job_id, partial(self.pipeline.embed, [pending])) is not None
        ]

    def _request(self, job: IngestionJob) -> IngestRequest:
        return IngestRequest(
            data=self.queue.staged_bytes(job),
            filename=job.filename,
            source_key=job.source_key,
            is_public=bool(job.options.get("is_public")),
            group_ids=tuple(job.options.get("group_ids", ())),
            uploaded_by=job.created_by,
            force=bool(job.options.get("force")),
        )

    def _attempt(self, job_id: str, step: Callable[[], T]) -> T | None:
        """Run one step of a job; on an error mark the job failed and return None."""
        try:
            return step()
        except DependencyUnavailableError as exc:
            log.warning("ingestion job %s waits for a service: %s", job_id, exc)
            self.queue.requeue(job_id)
            self._requeued = True
        except IngestError as exc:
            self.queue.fail(job_id, exc)
        except Exception as exc:
            log.exception("ingestion job %s failed unexpectedly", job_id)
            self.queue.fail(job_id, _internal_error(exc))
        return None

    def run_until_idle(self) -> int:
        """Run queued jobs until none is left; returns how many ran."""
        count = 0
        while ran := self._run_group():
            count += len(ran)
            if self._requeued:  # a service is down: the job stays queued for a later run
                break
        if count:
            self._on_idle()
        return count

    def _housekeep_if_due(self) -> None:
        now = time.monotonic()
        if now >= self._housekeeping_due:
            self._housekeeping_due = now + self._housekeeping_every_s
            self._housekeeping()

    def run_forever(self, stop: threading.Event, poll_interval_s: float) -> None:
        """Keep running jobs until ``stop`` is set."""
        busy = False
        while not stop.is_set():
            try:
                if self._run_group():
                    busy = True
                    if self._requeued:  # back off while the service is down, longer each time
                        first, longest = SERVICE_RETRY_S
                        self._service_retry_s = min(longest, max(first, 2 * self._service_retry_s))
                        stop.wait(self._service_retry_s)
                    else:
                        self._service_retry_s = 0.0
                    continue
                if busy:
                    self._on_idle()
                    busy = False
                self._housekeep_if_due()
                stop.wait(poll_interval_s)
            except Exception:  # a broken database connection must not kill the worker thread
                log.exception("job worker loop error")
                stop.wait(5.0)


class _ThrottledReporter:
    def __init__(self, queue: JobQueue, job_id: str) -> None:
        self._queue, self._job_id = queue, job_id
        self._last = 0.0
        self._stage = ""

    def __call__(self, fraction: float, stage: str) -> None:
        now = time.monotonic()
        if stage != self._stage or now - self._last >= PROGRESS_EVERY_S:
            self._queue.report(self._job_id, fraction, stage)
            self._last, self._stage = now, stage


def _internal_error(exc: Exception) -> IngestError:
    return IngestError(
        "internal_error",
        f"처리 중 내부 오류가 발생했습니다 ({type(exc).__name__}). 관리자에게 문의해 주세요.",
        f"An internal error occurred while processing ({type(exc).__name__}); contact the administrator.",
    )
