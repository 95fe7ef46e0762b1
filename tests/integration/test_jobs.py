"""The SQL job queue and runner on real SQLite, Chroma and Kiwi."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from app.container import Container
from app.ingest_files import discover, ingest_paths, sync_deletions
from core.db import transaction
from core.models import IngestionJob
from ingest.jobs import JobStatus

pytestmark = pytest.mark.integration


def test_a_good_and_a_bad_file_each_get_their_own_outcome(container: Container) -> None:
    good = container.jobs.enqueue(
        "# 회의실\n\n대회의실은 12명까지 쓸 수 있다.".encode(), "회의실.md", is_public=True
    )
    bad = container.jobs.enqueue(b"<html><body>not a pdf</body></html>", "report.pdf", is_public=True)
    assert container.job_runner().run_until_idle() == 2
    good_job, bad_job = container.jobs.get(good), container.jobs.get(bad)
    assert good_job is not None
    assert good_job.status == JobStatus.SUCCEEDED
    assert good_job.progress == 1.0
    assert good_job.document_id
    assert bad_job is not None
    assert bad_job.status == JobStatus.FAILED
    assert bad_job.error_code == "type_mismatch"
    assert "확장자" in (bad_job.error_ko or "")
    assert bad_job.error_en
    assert len(container.originals.all_keys()) == 1, "staged uploads are removed once jobs finish"


def test_a_job_is_claimed_by_one_worker_only(container: Container) -> None:
    container.jobs.enqueue(b"# a\n\nbody text here", "a.md")
    first = container.jobs.claim("w1")
    assert first is not None
    assert container.jobs.claim("w2") is None


def _fake_running(container: Container, job_id: str, attempts: int) -> None:
    with transaction(container.sessions) as session:
        session.execute(
            update(IngestionJob)
            .where(IngestionJob.id == job_id)
            .values(
                status="running", worker_id="localhost-gone:999999:x", attempts=attempts, heartbeat_at=None
            )
        )


def test_jobs_of_dead_workers_are_retried_then_failed(container: Container) -> None:
    retried = container.jobs.enqueue(b"# a\n\nsome body text", "a.md")
    exhausted = container.jobs.enqueue(b"# b\n\nother body text", "b.md")
    _fake_running(container, retried, attempts=1)
    _fake_running(container, exhausted, attempts=container.settings.jobs.max_attempts)
    report = container.recover()
    assert set(report.requeued_or_failed) == {retried, exhausted}
    assert container.jobs.get(retried).status == JobStatus.QUEUED  # type: ignore[union-attr]
    failed = container.jobs.get(exhausted)
    assert failed is not None
    assert failed.status == JobStatus.FAILED
    assert failed.error_code == "worker_crashed"


def test_sync_mirrors_a_folder(container: Container, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# 가\n\n첫 문서의 본문입니다.", encoding="utf-8")
    (folder / "b.md").write_text("# 나\n\n둘째 문서의 본문입니다.", encoding="utf-8")
    first = ingest_paths(container, discover([folder]), is_public=True, groups=())
    assert first.added == 2
    (folder / "a.md").write_text("# 가\n\n바뀐 본문입니다.", encoding="utf-8")
    (folder / "b.md").unlink()
    (folder / "c.md").write_text("# 다\n\n새 문서입니다.", encoding="utf-8")
    files = discover([folder])
    second = ingest_paths(container, files, is_public=True, groups=())
    deleted = sync_deletions(container, [folder], files)
    assert (second.added, second.updated, deleted) == (1, 1, 1)
    container.index.refresh()
    assert len(container.index.lexical) == container.index.vectors.count()
