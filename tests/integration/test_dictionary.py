"""The company dictionary: SQL rows, Kiwi terms, re-tokenized chunks, and other processes following."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, update

from app.cli import main as cli_main
from app.container import Container, build_container
from core.db import transaction
from core.models import Chunk
from core.settings import Settings
from ingest.pipeline import IngestRequest
from retrieval import chunk_store
from retrieval import dictionary as dictionary_module
from retrieval import index as index_module
from retrieval.dictionary import (
    DictionaryError,
    add_term,
    affected_chunks,
    list_terms,
    remove_term,
    retokenize_all,
)
from retrieval.embedder import HashingEmbedder
from retrieval.tokenizer import KiwiTokenizer, UserTerm
from retrieval.types import AccessScope
from tests.conftest import point_cli_at
from tests.support.containers import make_container

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


TERM = "도큐플로우포털"
T = TypeVar("T")


@pytest.fixture(scope="module")
def own_kiwi() -> KiwiTokenizer:
    """A Kiwi of this module's own: dictionary terms must not leak into the session-wide one."""
    return KiwiTokenizer()


@pytest.fixture
def dict_container(settings: Settings, own_kiwi: KiwiTokenizer) -> Iterator[Container]:
    own_kiwi.set_terms([])
    built = make_container(settings, own_kiwi)
    yield built
    built.close()


def ingest(container: Container, name: str, text: str) -> str:
    request = IngestRequest(data=text.encode(), filename=name, source_key=name, is_public=True)
    return container.pipeline.ingest(request).document_id


def tokens_of(container: Container, document_id: str) -> list[list[str]]:
    with container.sessions() as session:
        rows = session.scalars(select(Chunk.lexical_tokens).where(Chunk.document_id == document_id))
        return [json.loads(row) for row in rows]


def versions(container: Container) -> dict[str, int]:
    with container.sessions() as session:
        return chunk_store.index_versions(session)


def test_adding_a_term_retokenizes_only_the_chunks_that_contain_it(dict_container: Container) -> None:
    with_term = ingest(dict_container, "포털.md", f"# 포털 안내\n\n{TERM} 접속 방법은 아래와 같다.")
    other = ingest(dict_container, "휴가.md", "# 휴가\n\n연차휴가는 15일이다.")
    assert all(TERM not in terms for terms in tokens_of(dict_container, with_term))
    other_before = tokens_of(dict_container, other)
    before = versions(dict_container)

    change = add_term(dict_container.index, f"  {TERM} ", created_by=None)

    assert change.entry.term == TERM and change.entry.tag == "NNP"
    assert change.retokenized == 1
    assert all(TERM in terms for terms in tokens_of(dict_container, with_term))
    assert tokens_of(dict_container, other) == other_before
    after = versions(dict_container)
    assert after[chunk_store.LEXICAL_INDEX] == before.get(chunk_store.LEXICAL_INDEX, 0) + 1
    assert after[chunk_store.DICTIONARY_INDEX] == before.get(chunk_store.DICTIONARY_INDEX, 0) + 1
    assert TERM in dict_container.index.tokenizer.tokenize(f"{TERM}에 접속")
    hits = dict_container.searcher.search(f"{TERM} 접속", AccessScope.admin())
    assert hits[0].document_id == with_term
    with dict_container.sessions() as session:
        assert [entry.term for entry in list_terms(session)] == [TERM]


def test_duplicates_bad_tags_and_unknown_terms_are_refused(dict_container: Container) -> None:
    add_term(dict_container.index, TERM)
    with pytest.raises(DictionaryError) as duplicate:
        add_term(dict_container.index, TERM)
    assert duplicate.value.code == "duplicate_term"
    with pytest.raises(DictionaryError) as bad_tag:
        add_term(dict_container.index, "한빛클라우드", tag="VV")
    assert bad_tag.value.code == "invalid_tag"
    with pytest.raises(DictionaryError) as empty:
        add_term(dict_container.index, "   ")
    assert empty.value.code == "invalid_term"
    with pytest.raises(DictionaryError) as unknown:
        remove_term(dict_container.index, "없는용어")
    assert unknown.value.code == "unknown_term"


def test_removing_a_term_restores_the_default_analysis(dict_container: Container) -> None:
    document_id = ingest(dict_container, "포털.md", f"# 포털\n\n{TERM} 로그인 오류")
    default_terms = tokens_of(dict_container, document_id)
    add_term(dict_container.index, TERM)
    change = remove_term(dict_container.index, TERM)
    assert change.retokenized == 1
    assert tokens_of(dict_container, document_id) == default_terms
    assert UserTerm(TERM) not in dict_container.index.tokenizer.terms  # type: ignore[attr-defined]
    with dict_container.sessions() as session:
        assert list_terms(session) == []


def test_another_process_follows_the_dictionary_on_refresh(
    settings: Settings, dict_container: Container
) -> None:
    sentence = f"{TERM} 접속 방법은 아래와 같다."
    ingest(dict_container, "포털.md", f"# 포털\n\n{sentence}")
    other_kiwi = KiwiTokenizer()
    other = build_container(settings, embedder=HashingEmbedder(), tokenizer=other_kiwi)
    other.index.refresh()
    assert TERM not in other_kiwi.tokenize(sentence)
    add_term(dict_container.index, TERM)
    assert other.index.refresh()  # the lexical version moved: BM25 is reloaded
    assert TERM in other_kiwi.tokenize(sentence)
    hits = other.searcher.search(sentence, AccessScope.admin())
    assert hits and TERM in hits[0].text
    other.close()


def test_the_container_loads_terms_at_start_up(settings: Settings, dict_container: Container) -> None:
    add_term(dict_container.index, TERM, tag="NNP", score=1.5)
    fresh_kiwi = KiwiTokenizer()
    fresh = build_container(settings, embedder=HashingEmbedder(), tokenizer=fresh_kiwi)
    _ = fresh.index
    assert fresh_kiwi.terms == frozenset({UserTerm(TERM, "NNP", 1.5)})
    fresh.close()


def test_affected_chunks_match_title_and_ignore_case(dict_container: Container) -> None:
    ingest(dict_container, "vpn.md", "# JikjiVPN 안내\n\n접속 절차")
    ingest(dict_container, "기타.md", "# 기타\n\n무관한 내용")
    with dict_container.sessions() as session:
        assert len(affected_chunks(session, "jikjivpn")) == 1


def test_cli_lists_adds_and_removes(settings: Settings, monkeypatch, capsys) -> None:
    point_cli_at(settings, monkeypatch)
    assert cli_main(["dict", "add", TERM]) == 0
    assert "added" in capsys.readouterr().out
    assert cli_main(["dict", "add", TERM]) == 1
    assert cli_main(["dict", "list"]) == 0
    assert TERM in capsys.readouterr().out
    assert cli_main(["dict", "remove", TERM]) == 0
    assert cli_main(["dict", "list"]) == 0
    assert "empty" in capsys.readouterr().out


def test_retokenize_all_restores_every_chunks_terms(
    dict_container: Container, settings: Settings, monkeypatch, capsys
) -> None:
    ingest(dict_container, "vpn.md", "# JikjiVPN 안내\n\n사외에서는 브이피엔으로 접속한다.")
    ingest(dict_container, "휴가.md", "# 휴가 규정\n\n연차휴가는 15일로 한다.")
    with dict_container.sessions() as session:
        stored = dict(session.execute(select(Chunk.id, Chunk.lexical_tokens)).all())
    with transaction(dict_container.sessions) as session:  # data from an older version: no terms
        session.execute(update(Chunk).values(lexical_tokens="[]"))
    seen: list[tuple[int, int]] = []
    assert retokenize_all(dict_container.index, lambda done, total: seen.append((done, total))) == 2
    assert seen == [(2, 2)]
    with dict_container.sessions() as session:
        assert dict(session.execute(select(Chunk.id, Chunk.lexical_tokens)).all()) == stored
    assert dict_container.searcher.search("연차휴가", AccessScope())[0].title == "휴가 규정"
    point_cli_at(settings, monkeypatch)
    assert cli_main(["dict", "retokenize"]) == 0
    assert "2 chunks re-tokenized" in capsys.readouterr().out


def test_retokenize_all_starts_over_when_the_dictionary_changes_meanwhile(
    dict_container: Container, monkeypatch
) -> None:
    import retrieval.dictionary as dictionary

    ingest(dict_container, "vpn.md", "# JikjiVPN 안내\n\n사외에서는 브이피엔으로 접속한다.")
    ingest(dict_container, "휴가.md", "# 휴가 규정\n\n연차휴가는 15일로 한다.")
    monkeypatch.setattr(dictionary, "RETOKENIZE_BATCH", 1)
    real = dictionary.lexical_terms
    calls = []

    def change_once(tokenizer, pairs):  # another process changes the dictionary during the run
        calls.append(len(pairs))
        if len(calls) == 1:
            with transaction(dict_container.sessions) as session:
                chunk_store.bump_index_version(session, chunk_store.DICTIONARY_INDEX)
        return real(tokenizer, pairs)

    monkeypatch.setattr(dictionary, "lexical_terms", change_once)
    seen: list[tuple[int, int]] = []
    assert retokenize_all(dict_container.index, lambda done, total: seen.append((done, total))) == 2
    assert len(calls) == 3, "the first batch was cut again with the new dictionary"
    assert seen == [(1, 2), (2, 2)]


# --- changes racing each other and ingestion ------------------------------------------------------

SECOND_TERM = "한빛클라우드"


@pytest.fixture
def second_process(settings: Settings) -> Iterator[Container]:
    """Another process on the same data: its own Kiwi, so its dictionary is its own until it reads SQL."""
    built = make_container(settings, KiwiTokenizer())
    yield built
    built.close()


def before_first_call(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, action: Callable[[], T]
) -> list[T]:
    """Run ``action`` (another process's work) just before the first call of ``module.name``.

    Returns the list that receives the action's result. Calls made by the action itself go straight
    to the real function.
    """
    real = getattr(module, name)
    results: list[T] = []
    started: list[bool] = []

    def interleaved(*args: Any) -> Any:
        if not started:
            started.append(True)
            results.append(action())
        return real(*args)

    monkeypatch.setattr(module, name, interleaved)
    return results


def test_two_changes_prepared_at_once_both_end_up_in_the_terms(
    dict_container: Container, second_process: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = ingest(dict_container, "포털.md", f"# 포털\n\n{TERM} 에서 {SECOND_TERM} 계정을 만든다.")
    raced = before_first_call(
        monkeypatch,
        dictionary_module,
        "affected_chunks",
        lambda: add_term(second_process.index, SECOND_TERM, created_by=None),
    )
    add_term(dict_container.index, TERM, created_by=None)
    assert raced
    assert {entry.term for entry in list_terms(dict_container.sessions())} == {TERM, SECOND_TERM}
    terms = [term for chunk in tokens_of(dict_container, document) for term in chunk]
    assert TERM in terms and SECOND_TERM in terms, "the later change was planned again on top of the first"


def test_chunks_cut_while_a_change_commits_are_cut_again(
    dict_container: Container, second_process: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    raced = before_first_call(
        monkeypatch,
        index_module,
        "lexical_terms",
        lambda: add_term(second_process.index, TERM, created_by=None),
    )
    document = ingest(dict_container, "포털.md", f"# 포털 안내\n\n{TERM} 접속 방법은 아래와 같다.")
    assert raced
    assert any(TERM in chunk for chunk in tokens_of(dict_container, document)), "cut again with the new term"


def test_chunks_written_while_a_change_is_prepared_are_cut_by_it(
    dict_container: Container, second_process: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = before_first_call(
        monkeypatch,
        dictionary_module,
        "lexical_terms",
        lambda: ingest(second_process, "포털.md", f"# 포털 안내\n\n{TERM} 접속 방법."),
    )
    add_term(dict_container.index, TERM, created_by=None)
    assert written
    assert any(TERM in chunk for chunk in tokens_of(dict_container, written[0])), "found inside the change"
