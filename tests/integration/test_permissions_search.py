"""Permission-aware retrieval: filtering happens in both legs before the top-k cut."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.container import Container, build_container
from app.services import accounts
from core.db import transaction
from core.models import Document, Group
from core.settings import DatabaseSettings, EmbeddingSettings, RetrievalSettings, Settings
from ingest.pipeline import IngestRequest
from llm.fake import ExtractiveFakeModel
from retrieval.embedder import HashingEmbedder
from retrieval.types import AccessScope
from tests.api_harness import ApiHarness
from tests.conftest import Store

pytestmark = pytest.mark.integration


@pytest.fixture
def narrow(tmp_path, kiwi, store: Store) -> Iterator[Container]:
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        retrieval=RetrievalSettings(candidates=5, top_k=3),
        database=DatabaseSettings(url=store.database_url),
        chroma=store.chroma,
    )
    built = build_container(
        settings, embedder=HashingEmbedder(), chat_model=ExtractiveFakeModel(), tokenizer=kiwi
    )
    yield built
    built.close()


def ingest(
    container: Container, name: str, text: str, groups: tuple[str, ...] = (), public: bool = False
) -> str:
    with container.sessions.begin() as session:
        group_ids = accounts.group_ids_by_name(session, groups, create_missing=True)
    request = IngestRequest(
        data=text.encode(), filename=name, source_key=name, is_public=public, group_ids=group_ids
    )
    return container.pipeline.ingest(request).document_id


def group_scope(container: Container, *names: str) -> AccessScope:
    with container.sessions() as session:
        ids = frozenset(session.scalars(select(Group.id).where(Group.name.in_(names))))
    return AccessScope(group_ids=ids)


def test_a_user_with_narrow_access_still_gets_k_results(narrow: Container) -> None:
    for i in range(12):
        ingest(
            narrow,
            f"재무-{i}.md",
            f"# 재무 비밀 {i}\n\n법인카드 한도 법인카드 한도 법인카드 한도 CANARY{i}",
            ("재무팀",),
        )
    visible = {
        ingest(
            narrow, f"공용-{i}.md", f"# 안내 {i}\n\n법인카드 한도는 팀장 승인으로 정한다 {i}.", ("영업팀",)
        )
        for i in range(3)
    }
    hits = narrow.searcher.search("법인카드 한도", group_scope(narrow, "영업팀"), k=3)
    assert {hit.document_id for hit in hits} == visible
    assert all("CANARY" not in hit.text for hit in hits)
    admin_hits = narrow.searcher.search("법인카드 한도", AccessScope.admin(), k=3)
    assert all("CANARY" in hit.text for hit in admin_hits), "without the filter the private chunks rank first"


def test_documents_without_permissions_are_admin_only(narrow: Container) -> None:
    ingest(narrow, "비공개.md", "# 비공개\n\n임원 보수 규정 CANARY")
    assert narrow.searcher.search("임원 보수", AccessScope()) == []
    assert narrow.searcher.search("임원 보수", group_scope(narrow, "영업팀")) == []
    assert narrow.searcher.search("임원 보수", AccessScope.admin())


def test_changing_a_documents_groups_takes_effect_at_once(narrow: Container) -> None:
    doc_id = ingest(narrow, "인사.md", "# 인사\n\n평가 등급 분포 CANARY", ("인사팀",))
    ingest(narrow, "영업.md", "# 영업\n\n영업 목표", ("영업팀",))
    sales = group_scope(narrow, "영업팀")
    assert doc_id not in {hit.document_id for hit in narrow.searcher.search("평가 등급", sales)}
    with transaction(narrow.sessions) as session:
        document = session.get_one(Document, doc_id)
        document.groups = [session.scalar(select(Group).where(Group.name == "영업팀"))]  # type: ignore[list-item]
    narrow.index.permissions_changed()
    assert narrow.searcher.search("평가 등급", sales)[0].document_id == doc_id


class _SpyVectors:
    """Wraps the vector store and records each query's size and whether it used a metadata filter."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.calls: list[tuple[int, bool]] = []
        self.vectors_read: list[int] = []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def query(self, vector, k, documents=None):
        self.calls.append((k, documents is not None))
        return self._inner.query(vector, k, documents=documents)

    def get_vectors(self, ids):
        self.vectors_read.append(len(ids))
        return self._inner.get_vectors(ids)


def _many_documents(container: Container) -> set[str]:
    """Ten groups of four documents each; returns the ids of group 0's documents."""
    mine = set()
    for i in range(40):
        doc_id = ingest(
            container, f"문서-{i}.md", f"# 문서 {i}\n\n출장 경비 정산 기준 {i}번 조항.", (f"팀{i % 10}",)
        )
        if i % 10 == 0:
            mine.add(doc_id)
    return mine


def _spied(tmp_path, kiwi, **retrieval) -> tuple[Container, set[str], _SpyVectors]:
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        retrieval=RetrievalSettings(top_k=3, dense_weight=0.5, **retrieval),
    )
    container = build_container(settings, embedder=HashingEmbedder(), tokenizer=kiwi)
    mine = _many_documents(container)
    spy = _SpyVectors(container.index.vectors)
    container.index.vectors = spy  # type: ignore[assignment]
    return container, mine, spy


def test_narrow_scope_uses_an_unfiltered_overfetch_and_keeps_only_visible_chunks(tmp_path, kiwi) -> None:
    container, mine, spy = _spied(
        tmp_path, kiwi, candidates=3, dense_candidates=3, dense_overfetch=1.5, dense_exact_max=0
    )
    hits = container.searcher.search("출장 경비 정산", group_scope(container, "팀0"), k=3)
    assert len(hits) == 3
    assert {hit.document_id for hit in hits} <= mine
    assert spy.calls == [(45, False)]  # 3 candidates x 1.5 / (4 of 40 chunks visible), no filter


def test_a_caller_who_sees_very_little_is_served_from_cached_scope_vectors(tmp_path, kiwi) -> None:
    container, mine, spy = _spied(tmp_path, kiwi, candidates=3, dense_candidates=3)
    scope = group_scope(container, "팀0")
    first = container.searcher.search("출장 경비 정산", scope, k=3)
    again = container.searcher.search("출장 경비 정산 기준", scope, k=3)
    assert spy.calls == []  # neither an over-fetch nor Chroma's slow filter
    assert len(first) == 3
    assert {hit.document_id for hit in first + again} <= mine
    # The dense leg ran on the caller's visible vectors, read once from Chroma and then cached.
    assert spy.vectors_read == [4]
    # A new visible document reaches the cache once the index version moves.
    new_doc = ingest(container, "새문서.md", "# 새 문서\n\n출장 경비 정산 새 기준.", ("팀0",))
    hits = container.searcher.search("출장 경비 정산 새 기준", scope, k=5)
    assert new_doc in {hit.document_id for hit in hits}


def test_scopes_too_large_to_cache_use_chromas_filter(tmp_path, kiwi) -> None:
    container, mine, spy = _spied(
        tmp_path, kiwi, candidates=3, dense_candidates=3, dense_max_fetch=10, dense_exact_max=0
    )
    hits = container.searcher.search("출장 경비 정산", group_scope(container, "팀0"), k=3)
    assert {hit.document_id for hit in hits} <= mine
    assert spy.calls == [(3, True)]


def test_too_few_visible_candidates_fall_back_to_the_exact_query(tmp_path, kiwi) -> None:
    container, mine, spy = _spied(
        tmp_path, kiwi, candidates=1, dense_candidates=1, dense_overfetch=1.0, dense_exact_max=0
    )
    # No query term is in the index, so only the dense leg can find the caller's k chunks.
    hits = container.searcher.search("zzqx", group_scope(container, "팀0"), k=3)
    assert len(hits) == 3
    assert {hit.document_id for hit in hits} <= mine
    assert spy.calls == [(10, False), (3, True)]  # 1 x 1.0 / 0.1 unfiltered, then k exact


def test_a_client_document_filter_only_narrows(api: ApiHarness) -> None:
    """``document_ids`` in a search request can take away results, never add hidden ones."""
    mine = api.ingest(
        "# 영업 수당\n\n영업 수당은 매출의 3퍼센트로 지급한다.\n", "영업수당.md", groups=["영업팀"]
    )
    other = api.ingest("# 재무 수당\n\n재무 수당은 분기마다 지급한다.\n", "재무수당.md", groups=["재무팀"])
    public = api.ingest("# 공통 수당\n\n공통 수당은 매월 지급한다.\n", "공통수당.md", public=True)
    sales = api.user("sales", groups=["영업팀"])

    def found(document_ids: list[str] | None) -> set[str]:
        body: dict[str, object] = {"query": "수당 지급", "k": 10}
        if document_ids is not None:
            body["document_ids"] = document_ids
        response = api.client.post("/api/v1/search", json=body, headers=sales)
        assert response.status_code == 200
        return {hit["document_id"] for hit in response.json()["results"]}

    assert found(None) == {mine, public}
    assert found([mine]) == {mine}
    assert found([other]) == set()
    assert found([other, public]) == {public}
    admin = api.admin()
    narrowed = api.client.post(
        "/api/v1/search", json={"query": "수당 지급", "document_ids": [other]}, headers=admin
    ).json()
    assert {hit["document_id"] for hit in narrowed["results"]} == {other}


def test_a_hidden_document_does_not_change_what_a_non_admin_sees(api: ApiHarness) -> None:
    """BM25 statistics count hidden documents too: non-admins get rank scores, admins the raw ones."""
    api.ingest("# 출장비\n\n출장비는 실비로 지급한다.\n", "출장비.md", public=True)
    api.ingest("# 월말 정산\n\n경비 정산은 월말까지 마친다.\n", "정산.md", public=True)
    employee = api.user("employee")
    narrowed_admin = api.key(api.admin(), ["search"], group_ids=[api.group("영업팀")])
    admin = api.admin()
    query = {"query": "출장비 정산", "k": 10}

    def seen(headers: dict[str, str]) -> list[dict[str, object]]:
        response = api.client.post("/api/v1/search", json=query, headers=headers)
        assert response.status_code == 200, response.text
        fields = ("document_id", "score", "lexical_score", "dense_score")
        return [{name: hit[name] for name in fields} for hit in response.json()["results"]]

    def cited(headers: dict[str, str]) -> list[list[tuple[str, float]]]:
        """The source scores of an OpenAI-style answer and of a stored conversation's answer."""
        chat = api.client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": query["query"]}]},
            headers=headers,
        )
        assert chat.status_code == 200, chat.text
        conversation = api.client.post("/api/v1/conversations", json={}, headers=headers).json()["id"]
        asked = api.client.post(
            f"/api/v1/conversations/{conversation}/messages",
            json={"content": query["query"]},
            headers=headers,
        )
        assert asked.status_code == 200, asked.text
        return [
            [(s["document_id"], s["score"]) for s in body["sources"]] for body in (chat.json(), asked.json())
        ]

    before = {"employee": seen(employee), "narrowed": seen(narrowed_admin), "admin": seen(admin)}
    assert len(before["employee"]) == 2
    assert [hit["score"] for hit in before["employee"]] == [1.0, 0.5]
    sources_before = cited(employee)
    # Rank scores (1/(1+r); two sources that tie in the fused score share the better rank).
    assert all(len(sources) == 2 and {s for _, s in sources} <= {1.0, 0.5} for sources in sources_before)
    hidden = "# 재무 정산\n\n" + "재무 정산 정산 절차와 정산 기한, 정산 서류를 정리한다.\n" * 3
    api.ingest(hidden, "재무정산.md", groups=["재무팀"])
    assert seen(employee) == before["employee"]
    assert seen(narrowed_admin) == before["narrowed"]
    assert cited(employee) == sources_before
    # The admin's raw lexical scores of the public documents moved: that is what non-admins must not see.
    admin_after = {hit["document_id"]: hit["lexical_score"] for hit in seen(admin)}
    admin_before = {hit["document_id"]: hit["lexical_score"] for hit in before["admin"]}
    assert any(admin_after[doc] != score for doc, score in admin_before.items())
