"""The processes of one host read one saved BM25 snapshot, memory-mapped: its pages are shared.

Two containers on one data directory stand for two processes. After one saves, each maps the same
snapshot files (the saver at once, the other on its next search, in the background) and answers as
before; changes after that are still caught up from SQL in each process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from app.container import Container
from core.models import Document
from core.settings import Settings
from ingest.pipeline import IngestRequest
from retrieval.lexical import LexicalIndex
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from tests.support.containers import make_container

pytestmark = pytest.mark.integration

TRAVEL = "# 출장 규정\n\n제5조(숙박비) 국내 출장 숙박비는 서울 1박 12만원을 한도로 한다.\n"
TRAVEL_V2 = "# 출장 규정\n\n제5조(숙박비) 국내 출장 숙박비는 서울 1박 15만원으로 한다. 식비는 따로 준다.\n"
LEAVE = "# 휴가 규정\n\n제3조(연차) 연차휴가는 15일로 한다.\n"
WAIT_S = 120  # for the other process's background take-up (a wait, not a timed assertion)


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """On SQLite and on PostgreSQL."""
    return settings_on_each_database


@pytest.fixture
def other(settings: Settings, kiwi: KiwiTokenizer) -> Iterator[Container]:
    """A second process on the same data directory."""
    built = make_container(settings, kiwi)
    yield built
    built.close()


def ingest(container: Container, text: str, key: str) -> None:
    request = IngestRequest(data=text.encode(), filename=f"{key}.md", source_key=key, is_public=True)
    container.pipeline.ingest(request)


def titles(container: Container, query: str) -> list[str]:
    """Titles of the documents the lexical leg finds, after the search path's own refresh."""
    container.searcher.search(query, AccessScope(is_admin=True))
    lexical = container.index.lexical
    hits = lexical.search(container.index.tokenizer.tokenize(query), 10)
    with container.sessions() as session:
        return sorted({session.get_one(Document, lexical.document_of(hit.chunk_id)).title for hit in hits})


def mapped_file(lexical: LexicalIndex) -> str | None:
    """The snapshot file the index's postings are mapped from (None when they are in private memory)."""
    rows = lexical._segments[0].rows if len(lexical._segments) == 1 else None
    if not isinstance(rows, np.memmap) or rows.filename is None:
        return None
    return str(rows.filename)


def test_processes_share_the_saved_snapshot_and_still_catch_up(
    container: Container, other: Container
) -> None:
    ingest(container, TRAVEL, "travel")
    ingest(container, LEAVE, "leave")
    assert titles(other, "숙박비") == ["출장 규정"]
    assert mapped_file(other.index.lexical) is None, "no snapshot yet: read from SQL"

    container.index.checkpoint()
    assert mapped_file(container.index.lexical) is not None, "the saver maps the snapshot it wrote"

    deadline = time.monotonic() + WAIT_S
    while mapped_file(other.index.lexical) != mapped_file(container.index.lexical):
        assert time.monotonic() < deadline, "the other process never took the saved snapshot up"
        for process in (other, container):  # each search looks for a newer snapshot
            assert titles(process, "연차휴가") == ["휴가 규정"]
        time.sleep(0.05)
    assert mapped_file(other.index.lexical) in {
        str(p) for p in container.settings.bm25_dir.glob("snapshot-*/rows.npy")
    }
    assert titles(other, "숙박비") == ["출장 규정"] and titles(other, "연차휴가") == ["휴가 규정"]

    ingest(container, TRAVEL_V2, "travel")
    assert titles(other, "식비") == ["출장 규정"], "a change after the snapshot is caught up from SQL"
    assert titles(container, "식비") == ["출장 규정"]
    assert sorted(other.index.lexical.ids) == sorted(container.index.lexical.ids)
