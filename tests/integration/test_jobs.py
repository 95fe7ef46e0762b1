"""The SQL job queue and runner on real SQLite, Chroma and Kiwi."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from app.container import Container
from app.services.ingest_files import discover, ingest_paths, sync_deletions
from core.db import transaction
from core.models import Chunk, Document, DocumentVersion, IngestionJob
from core.settings import Settings
from ingest.jobs import JobRunner, JobStatus
from retrieval.embedder import HashingEmbedder
from retrieval.index import index_text
from retrieval.types import ChunkInput, Vectors

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


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
    first = ingest_paths(container, discover([folder]), is_public=True)
    assert first.added == 2
    (folder / "a.md").write_text("# 가\n\n바뀐 본문입니다.", encoding="utf-8")
    (folder / "b.md").unlink()
    (folder / "c.md").write_text("# 다\n\n새 문서입니다.", encoding="utf-8")
    files = discover([folder])
    second = ingest_paths(container, files, is_public=True)
    deleted = sync_deletions(container, [folder], files)
    assert (second.added, second.updated, deleted) == (1, 1, 1)
    container.index.refresh()
    assert len(container.index.lexical) == container.index.vectors.count()


def test_file_names_from_disk_lose_bidi_and_invisible_characters(
    container: Container, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "공지\u202egpj.md").write_text("# 공지\n\n사내 공지 본문입니다.", encoding="utf-8")
    (folder / "안\u200b내\u2066.md").write_text("# 안내\n\n안내 본문입니다.", encoding="utf-8")
    assert ingest_paths(container, discover([folder]), is_public=True).added == 2
    with container.sessions() as session:
        jobs = set(session.scalars(select(IngestionJob.filename)))
        documents = set(session.scalars(select(Document.display_name)))
    assert jobs == documents == {"공지gpj.md", "안내.md"}


class RecordingEmbedder(HashingEmbedder):
    """The hashing embedder, counting its passage calls; fails any call that holds ``poison``."""

    def __init__(self, poison: str | None = None) -> None:
        super().__init__()
        self.calls: list[int] = []
        self.poison = poison

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        if self.poison and any(self.poison in text for text in texts):
            msg = "model exploded"
            raise RuntimeError(msg)
        return super().embed_passages(texts)


def _enqueue_notes(container: Container, count: int) -> list[str]:
    return [
        container.jobs.enqueue(
            f"# 공지 {n}\n\n회의실 {n}번은 {n + 4}명까지 쓸 수 있다.\n\n## 예약\n\n예약은 {n}일 전까지 한다.".encode(),
            f"공지{n}.md",
            is_public=True,
        )
        for n in range(count)
    ]


def test_queued_jobs_share_embedding_batches_and_each_gets_its_own_version(container: Container) -> None:
    embedder = RecordingEmbedder()
    container.index.embedder = embedder
    good = _enqueue_notes(container, 3)
    bad = container.jobs.enqueue(b"<html><body>not a pdf</body></html>", "report.pdf", is_public=True)
    assert container.job_runner().run_until_idle() == 4
    assert len(embedder.calls) == 1, "the three files' chunks went to the model together"
    views = [container.jobs.get(job_id) for job_id in good]
    assert all(v is not None and v.status == JobStatus.SUCCEEDED and v.stage == "added" for v in views)
    assert container.jobs.get(bad).status == JobStatus.FAILED  # type: ignore[union-attr]
    with container.sessions() as session:
        rows = session.execute(
            select(Chunk, Document.title).join(Document, Document.current_version_id == Chunk.version_id)
        ).all()
    assert sum(embedder.calls) == len(rows) > 3
    ids, stored = container.index.vectors.get_vectors([chunk.id for chunk, _ in rows])
    by_id = dict(zip(ids, stored, strict=True))
    for chunk, title in rows:  # each chunk got its own text's vector back, not a neighbour's
        text = index_text(title, ChunkInput(text=chunk.text, section_path=json.loads(chunk.section_path)))
        np.testing.assert_allclose(by_id[chunk.id], HashingEmbedder().embed_passages([text])[0], atol=1e-6)


def test_a_runner_without_grouping_embeds_file_by_file(container: Container) -> None:
    embedder = RecordingEmbedder()
    container.index.embedder = embedder
    _enqueue_notes(container, 3)
    runner = JobRunner(container.jobs, container.pipeline, group_chunks=0)
    assert runner.run_until_idle() == 3
    assert len(embedder.calls) == 3


def test_when_pooled_embedding_fails_only_the_file_that_breaks_the_model_fails(container: Container) -> None:
    container.index.embedder = RecordingEmbedder(poison="폭탄")
    good = _enqueue_notes(container, 2)
    bomb = container.jobs.enqueue("# 폭탄\n\n이 문서는 모델을 멈춘다.".encode(), "폭탄.md", is_public=True)
    assert container.job_runner().run_until_idle() == 3
    assert [container.jobs.get(j).status for j in good] == [JobStatus.SUCCEEDED] * 2  # type: ignore[union-attr]
    failed = container.jobs.get(bomb)
    assert failed is not None
    assert failed.status == JobStatus.FAILED
    assert failed.error_code == "internal_error"
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DocumentVersion)) == 2, "no trace of the bomb"


def test_a_file_queued_twice_in_one_group_is_stored_once(container: Container) -> None:
    data = "# 같은 문서\n\n두 번 올린 같은 내용입니다.".encode()
    first = container.jobs.enqueue(data, "a.md", is_public=True)
    second = container.jobs.enqueue(data, "a-copy.md", is_public=True)
    assert container.job_runner().run_until_idle() == 2
    stages = [container.jobs.get(j).stage for j in (first, second)]  # type: ignore[union-attr]
    assert stages == ["added", "unchanged"]
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 1
