"""BM25 follows every ingest, new version and delete by swapping only the documents that changed.

Two containers on one data directory stand for two processes (API and worker): each keeps its own
BM25 index and catches up from SQL; a spy on the SQL read shows which versions' terms were read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import update

from app.container import Container
from core.db import transaction
from core.models import Chunk, Document
from core.settings import Settings
from ingest.pipeline import IngestRequest
from retrieval import chunk_store
from retrieval.dictionary import add_term, retokenize_all
from retrieval.lexical import LexicalIndex
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from tests.support.containers import make_container

pytestmark = pytest.mark.integration

TRAVEL = "# 출장 규정\n\n제5조(숙박비) 국내 출장 숙박비는 서울 1박 12만원을 한도로 한다.\n"
TRAVEL_V2 = (
    "# 출장 규정\n\n제5조(숙박비) 국내 출장 숙박비는 서울 1박 15만원을 한도로 한다. 식비는 따로 준다.\n"
)
LEAVE = "# 휴가 규정\n\n제3조(연차) 연차휴가는 15일로 한다.\n"
SECURITY = "# 보안 지침\n\n제2조(원격접속) 사외에서는 제트브이피엔으로 접속한다.\n"


class ReadSpy:
    """Records the version ids whose BM25 terms were read from SQL, and the re-cut chunks read back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[list[str]] = []
        self.recut: list[str] = []
        real = chunk_store.lexical_rows_of_versions
        real_recut = chunk_store.lexical_rows_retokenized_after

        def spy(session: Any, version_ids: Sequence[str]) -> Any:
            self.calls.append(list(version_ids))
            return real(session, version_ids)

        def spy_recut(session: Any, dictionary_version: int) -> Any:
            rows = real_recut(session, dictionary_version)
            self.recut += [row[0] for row in rows]
            return rows

        monkeypatch.setattr(chunk_store, "lexical_rows_of_versions", spy)
        monkeypatch.setattr(chunk_store, "lexical_rows_retokenized_after", spy_recut)

    def take(self) -> list[str]:
        read = [version for call in self.calls for version in call]
        self.calls.clear()
        return read

    def take_recut(self) -> list[str]:
        read, self.recut = self.recut, []
        return read


@pytest.fixture
def settings(settings_on_each_store: Settings) -> Settings:
    """These tests run on SQLite, on PostgreSQL and on PostgreSQL with a Chroma server."""
    return settings_on_each_store


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ReadSpy:
    return ReadSpy(monkeypatch)


@pytest.fixture
def other(settings: Settings, kiwi: KiwiTokenizer) -> Iterator[Container]:
    """A second process on the same data directory."""
    built = make_container(settings, kiwi)
    yield built
    built.close()


def ingest(container: Container, text: str, key: str) -> tuple[str, str]:
    request = IngestRequest(data=text.encode(), filename=f"{key}.md", source_key=key, is_public=True)
    outcome = container.pipeline.ingest(request)
    return outcome.document_id, outcome.version_id


def titles(container: Container, query: str) -> list[str]:
    """Titles of the documents the lexical leg finds, after the search path's own refresh."""
    container.searcher.search(query, AccessScope(is_admin=True))
    lexical = container.index.lexical
    hits = lexical.search(container.index.tokenizer.tokenize(query), 10)
    with container.sessions() as session:
        return [session.get_one(Document, lexical.document_of(hit.chunk_id)).title for hit in hits]


def test_another_process_reads_only_the_changed_documents(
    container: Container, other: Container, spy: ReadSpy
) -> None:
    travel, _ = ingest(container, TRAVEL, "travel")
    leave, leave_v1 = ingest(container, LEAVE, "leave")
    assert titles(other, "연차휴가") == ["휴가 규정"]
    spy.take()

    _, travel_v2 = ingest(container, TRAVEL_V2, "travel")
    assert titles(other, "식비") == ["출장 규정"]
    assert spy.take() == [travel_v2], "only the new version's terms were read"
    assert other.index.lexical.document_versions == {travel: travel_v2, leave: leave_v1}

    container.index.delete_document(leave)
    assert titles(other, "연차휴가") == []
    assert spy.take() == [], "a delete reads no terms"
    container.index.refresh()
    assert set(other.index.lexical.ids) == set(container.index.lexical.ids) != set()


def test_a_starting_process_loads_the_saved_index_and_catches_up(
    container: Container, settings: Settings, kiwi: KiwiTokenizer, spy: ReadSpy
) -> None:
    ingest(container, TRAVEL, "travel")
    ingest(container, LEAVE, "leave")
    container.index.checkpoint()  # what the worker does when its queue drains
    _, security_v1 = ingest(container, SECURITY, "security")
    spy.take()
    late = make_container(settings, kiwi)
    try:
        assert titles(late, "원격접속") == ["보안 지침"]
        assert titles(late, "숙박비") == ["출장 규정"]
        assert spy.take() == [security_v1], "the saved index held the rest"
    finally:
        late.close()


def test_scores_after_many_changes_equal_a_full_read(container: Container, other: Container) -> None:
    ingest(container, TRAVEL, "travel")
    titles(other, "출장")
    ingest(container, LEAVE, "leave")
    titles(other, "출장")
    ingest(container, TRAVEL_V2, "travel")
    ingest(container, SECURITY, "security")
    titles(other, "출장")
    with container.sessions() as session:
        current = chunk_store.current_versions(session)
        rows = chunk_store.lexical_rows_of_versions(session, list(current.values()))
    full = LexicalIndex(*other.index.lexical.params)
    full.build([r[0] for r in rows], [r[2] for r in rows], [r[1] for r in rows])
    for query in (["출장"], ["숙박비", "서울"], ["연차", "휴가"]):
        caught_up = other.index.lexical
        expected = dict(zip(full.ids, full.scores(query), strict=True))
        got = caught_up.scores(query)
        assert {chunk_id: got[caught_up.row_of(chunk_id)] for chunk_id in caught_up.ids} == pytest.approx(
            expected
        )


def chunk_ids_of(container: Container, document_id: str) -> list[str]:
    lexical = container.index.lexical
    return [chunk_id for chunk_id in lexical.ids if lexical.document_of(chunk_id) == document_id]


def test_a_dictionary_change_is_read_back_chunk_by_chunk_here_and_elsewhere(
    container: Container, other: Container, spy: ReadSpy
) -> None:
    security, _ = ingest(container, SECURITY, "security")
    ingest(container, LEAVE, "leave")
    container.index.refresh()
    titles(other, "접속")
    spy.take()
    add_term(container.index, "제트브이피엔", created_by=None)
    assert spy.take() == [], "the changing process read no document's terms in full"
    assert sorted(spy.take_recut()) == sorted(chunk_ids_of(container, security)), "only the re-cut chunks"
    assert "제트브이피엔" in container.index.lexical._vocabulary
    assert titles(other, "제트브이피엔") == ["보안 지침"]
    assert spy.take() == [], "another process read no document's terms in full"
    assert sorted(spy.take_recut()) == sorted(chunk_ids_of(container, security)), "only the re-cut chunks"
    assert other.index.lexical.dictionary_version == container.index.lexical.dictionary_version


def test_a_starting_process_reads_back_only_chunks_re_cut_since_its_save(
    container: Container, settings: Settings, kiwi: KiwiTokenizer, spy: ReadSpy
) -> None:
    security, _ = ingest(container, SECURITY, "security")
    ingest(container, LEAVE, "leave")
    container.index.checkpoint()
    saved_dictionary = container.index.lexical.dictionary_version
    container.index._unsaved_rows = 0  # keep the save from before the change, as a crash would
    add_term(container.index, "제트브이피엔", created_by=None)
    spy.take(), spy.take_recut()
    late = make_container(settings, kiwi)
    try:
        assert titles(late, "제트브이피엔") == ["보안 지침"]
        assert spy.take() == []
        assert sorted(spy.take_recut()) == sorted(chunk_ids_of(container, security))
        assert late.index.lexical.dictionary_version == saved_dictionary + 1
    finally:
        late.close()


def test_retokenizing_everything_is_read_back_everywhere(
    container: Container, other: Container, spy: ReadSpy
) -> None:
    ingest(container, SECURITY, "security")
    ingest(container, LEAVE, "leave")
    titles(other, "접속")
    # Loaded here too: an index never loaded reads everything whole (or the other's snapshot, when its
    # background save has finished), which is right but would not show the re-cut read back.
    titles(container, "접속")
    spy.take()
    assert retokenize_all(container.index) == len(container.index.lexical)
    assert set(spy.take_recut()) == set(container.index.lexical.ids), "the process that ran it"
    titles(other, "연차")
    assert sorted(spy.take_recut()) == sorted(container.index.lexical.ids), "and every other one"
    assert spy.take() == []
    assert set(other.index.lexical.ids) == set(container.index.lexical.ids)


def test_chunks_of_an_interrupted_retokenize_are_read_back_with_the_next_change(container: Container) -> None:
    """A stopped ``jikji dict retokenize`` stamps its batches ahead; the next change brings them in."""
    ingest(container, SECURITY, "security")
    leave, _ = ingest(container, LEAVE, "leave")
    container.index.refresh()
    chunk_id = chunk_ids_of(container, leave)[0]
    with transaction(container.sessions) as session:
        ahead = chunk_store.index_versions(session).get(chunk_store.DICTIONARY_INDEX, 0) + 1
        session.execute(
            update(Chunk)
            .where(Chunk.id == chunk_id)
            .values(lexical_tokens='["새로자른말"]', terms_version=ahead)
        )
    add_term(container.index, "제트브이피엔", created_by=None)
    assert "새로자른말" in container.index.lexical._vocabulary
