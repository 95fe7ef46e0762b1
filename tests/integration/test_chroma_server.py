"""A Chroma server restarted while Jikji writes and searches loses nothing (issue 20 item 1).

Uploads that reach the index while the server is down wait in the job queue (stage
``waiting_for_service``, not failed) and are indexed once it is back; searches answer 503 meanwhile
and work again without restarting Jikji. Afterwards every store holds each current chunk exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.container import Container
from core.models import Chunk, Document
from core.settings import ChromaSettings, EmbeddingSettings, Settings
from ingest.jobs import WAITING_STAGE, JobStatus
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from retrieval.vectors import VectorStoreUnavailableError
from tests.support.containers import make_container
from tests.support.dependencies import ChromaServer, running_chroma

pytestmark = [pytest.mark.integration, pytest.mark.chroma_server]

DOCS = {
    "출장.md": "# 출장 규정\n\n서울 출장 숙박비는 1박 12만 원까지 지급한다.\n",
    "휴가.md": "# 휴가 규정\n\n연차휴가는 1년에 15일을 부여한다.\n",
    "경조.md": "# 경조사 규정\n\n본인 결혼 시 경조사비 50만 원을 지급한다.\n",
}


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server of this test alone (it is stopped mid-test; the session's one is shared)."""
    with running_chroma(tmp_path / "chroma") as server:
        yield server


@pytest.fixture
def on_server(tmp_path: Path, own_server: ChromaServer, kiwi: KiwiTokenizer) -> Iterator[Container]:
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        chroma=ChromaSettings(mode="http", port=own_server.port),
    )
    container = make_container(settings, kiwi)
    yield container
    container.close()


def job_states(container: Container, job_ids: list[str]) -> list[tuple[str, str]]:
    views = [container.jobs.get(job_id) for job_id in job_ids]
    return [(view.status, view.stage) for view in views if view is not None]


def assert_each_current_chunk_once(container: Container) -> None:
    """SQL chunks of current versions == Chroma ids == BM25 ids, each once."""
    with container.sessions() as session:
        current = list(
            session.scalars(select(Chunk.id).join(Document, Document.current_version_id == Chunk.version_id))
        )
        every = list(session.scalars(select(Chunk.id)))
    stored = container.index.vectors.all_ids()
    assert sorted(stored) == sorted(set(stored)) == sorted(current) == sorted(every)
    assert sorted(container.index.lexical.ids) == sorted(current)


def test_uploads_while_the_chroma_server_is_down_wait_and_are_indexed_once_it_is_back(
    on_server: Container, own_server: ChromaServer
) -> None:
    container = on_server
    first = container.jobs.enqueue(DOCS["출장.md"].encode(), "출장.md", source_key="출장", is_public=True)
    runner = container.job_runner()
    assert runner.run_until_idle() == 1
    assert container.searcher.search("숙박비", AccessScope())[0].title == "출장 규정"

    own_server.stop()
    waiting = [
        container.jobs.enqueue(DOCS[name].encode(), name, source_key=name, is_public=True)
        for name in ("휴가.md", "경조.md")
    ]
    runner.run_until_idle()
    assert job_states(container, waiting) == [("queued", WAITING_STAGE)] * 2, "waiting, not failed"
    with pytest.raises(VectorStoreUnavailableError):
        container.searcher.search("연차휴가", AccessScope())

    # A worker loop keeps retrying with back-off; the server comes back while it waits.
    stop = threading.Event()
    worker = threading.Thread(target=runner.run_forever, args=(stop, 0.1), daemon=True)
    worker.start()
    own_server.start()
    try:
        deadline_reached = not _wait_until_succeeded(container, [first, *waiting])
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not deadline_reached, job_states(container, waiting)
    assert [container.jobs.get(job_id).attempts for job_id in waiting] == [1, 1]  # type: ignore[union-attr]

    assert container.searcher.search("연차휴가 며칠", AccessScope())[0].title == "휴가 규정"
    assert container.searcher.search("경조사비", AccessScope())[0].title == "경조사 규정"
    container.recover()  # what a worker's start does: drops versions a failed write left behind
    assert_each_current_chunk_once(container)


def _wait_until_succeeded(container: Container, job_ids: list[str], timeout_s: float = 120.0) -> bool:
    """Whether every job succeeded within ``timeout_s`` (polled)."""
    done = threading.Event()
    for _ in range(int(timeout_s / 0.2)):
        if all(status == JobStatus.SUCCEEDED for status, _ in job_states(container, job_ids)):
            done.set()
            break
        done.wait(0.2)
    return done.is_set()
