"""Ingesting files from disk (``jikji ingest``, ``jikji serve --ingest``): every file becomes a job;
progress and a summary."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from app.container import Container
from core.models import Document
from ingest.detect import EXTENSIONS
from ingest.jobs import JobStatus, JobView
from ingest.metadata import display_name

FileCallback = Callable[[int, int, Path, JobView, float], None]


@dataclass
class IngestSummary:
    """Counts of what a batch ingestion did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def discover(paths: Iterable[Path]) -> list[Path]:
    """Supported files under the given files/directories, sorted, hidden files skipped."""
    found: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [
            p
            for p in candidates
            if p.is_file() and p.suffix.lower() in EXTENSIONS and not p.name.startswith(".")
        ]
    return found


def source_key(path: Path) -> str:
    """The key that ties a file on disk to its document (its resolved path)."""
    return str(path.resolve())


def ingest_paths(
    container: Container,
    files: list[Path],
    *,
    is_public: bool,
    group_ids: tuple[str, ...] = (),
    on_file: FileCallback | None = None,
) -> IngestSummary:
    """Queue a job per file, run the queue until they finish, and summarise (one failure stops nothing).

    ``group_ids`` are existing groups (see :func:`app.services.accounts.group_ids_by_name`).
    """
    summary = IngestSummary()
    started = time.perf_counter()
    job_ids = [
        container.jobs.enqueue(
            path.read_bytes(),
            display_name(path.name),
            source_key=source_key(path),
            is_public=is_public,
            group_ids=group_ids,
        )
        for path in files
    ]
    runner = container.job_runner()
    for i, (path, job_id) in enumerate(zip(files, job_ids, strict=True), start=1):
        t0 = time.perf_counter()
        job = _wait_for(container, runner, job_id)
        _count(summary, path, job)
        if on_file is not None:
            on_file(i, len(files), path, job, time.perf_counter() - t0)
    container.index.checkpoint()
    summary.seconds = time.perf_counter() - started
    return summary


def _wait_for(container: Container, runner: object, job_id: str) -> JobView:
    """Run queued jobs here until ``job_id`` is finished (another worker may take it)."""
    while True:
        job = container.jobs.get(job_id)
        if job is not None and job.status in {JobStatus.SUCCEEDED, JobStatus.FAILED}:
            return job
        if runner.run_one() is None:  # type: ignore[attr-defined]
            time.sleep(0.2)


def _count(summary: IngestSummary, path: Path, job: JobView) -> None:
    if job.status == JobStatus.FAILED:
        summary.failed.append((str(path), f"{job.error_ko} / {job.error_en}"))
    elif job.stage in {"added", "updated", "unchanged"}:
        setattr(summary, job.stage, getattr(summary, job.stage) + 1)


def sync_deletions(container: Container, roots: list[Path], present: list[Path]) -> int:
    """Delete documents that came from under ``roots`` but whose file is gone; returns how many."""
    prefixes = tuple(source_key(root).rstrip("/") + "/" for root in roots if root.is_dir())
    keep = {source_key(path) for path in present}
    with container.sessions() as session:
        rows = session.execute(
            select(Document.id, Document.source_key).where(Document.source_key.is_not(None))
        ).all()
    gone = [doc_id for doc_id, key in rows if key and key.startswith(prefixes) and key not in keep]
    for doc_id in gone:
        container.pipeline.delete_document(doc_id)
    return len(gone)
